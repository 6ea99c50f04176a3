"""An incremental Server-Sent Events parser, following the WHATWG event-stream rules.

Feed it the bytes of a response as they arrive; it returns the events completed so far.
Servers differ in small ways (CRLF or bare CR line ends, comments as keep-alive pings,
events split across reads, no blank line after the last event), so nothing here assumes
one server's habits.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# A line ends at CRLF, LF or a lone CR; CRLF first so it counts as one line end.
_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    data: str
    event: str = "message"
    id: str | None = None


class SSEParser:
    """Turns a byte stream into ServerSentEvents, one read at a time."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""  # the start of a line whose end has not arrived yet
        self._after_cr = False  # the last read ended in CR: a leading LF belongs to it
        self._at_start = True
        self._data: list[str] = []
        self._event = ""
        self.last_event_id: str | None = None
        # The reconnection delay the server asked for, in milliseconds.
        self.retry: int | None = None

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Events completed by this read, in order."""
        return self._feed_text(self._decoder.decode(data))

    def finish(self) -> list[ServerSentEvent]:
        """Events left at the end of the stream.

        The spec drops an event that has no blank line after it; some servers end the
        stream right after the last `data:` line, so it is dispatched here instead.
        """
        events = self._feed_text(self._decoder.decode(b"", final=True))
        if self._pending:
            self._process_line(self._pending)
            self._pending = ""
        event = self._dispatch()
        if event is not None:
            events.append(event)
        return events

    def _feed_text(self, text: str) -> list[ServerSentEvent]:
        if self._at_start and text:
            self._at_start = False
            text = text.removeprefix("\ufeff")
        if self._after_cr and text[:1] == "\n":
            text = text[1:]
            self._after_cr = False
        if text:
            self._after_cr = text.endswith("\r")
        lines = _LINE_END.split(self._pending + text)
        self._pending = lines.pop()
        events = []
        for line in lines:
            event = self._process_line(line)
            if event is not None:
                events.append(event)
        return events

    def _process_line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id" and "\0" not in value:
            self.last_event_id = value
        elif field == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        data, event = self._data, self._event
        self._data, self._event = [], ""
        if not data:
            return None
        return ServerSentEvent("\n".join(data), event or "message", self.last_event_id)
