"""One message of the thread: header, Markdown body, sibling switcher, details, error block,
and under a finished reply its rating bar."""

from __future__ import annotations

import asyncio
import datetime
import re
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message as TextualMessage
from textual.reactive import reactive
from textual.widgets import Button, Static

from chatapp.core.models import FinishReason, Message, Role
from chatapp.ui.widgets.rating_bar import RatingBar

# Markdown (message_body) is imported where a message is shown, not to start.
if TYPE_CHECKING:
    from chatapp.ui.widgets.message_body import Body as Body

CODE_BLOCK = re.compile(r"^(`{3,}|~{3,})[^\n]*\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)
# Model output is shown, never executed by the terminal: escape control sequences.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")


# A streaming reply moves on to a new Markdown widget past this many characters.
STREAM_CHUNK_CHARS = 3000
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
FENCE = re.compile(r"^ {0,3}(?:```|~~~)", re.MULTILINE)


def __getattr__(name: str) -> object:
    if name == "Body":  # where it was first, for modules that import it from here
        from chatapp.ui.widgets.message_body import Body

        return Body
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def visible(text: str) -> str:
    """Text safe to render: ESC and other control characters become visible symbols."""
    # Windows line ends are line ends, not a stray ␍ at the end of every line.
    text = text.replace("\r\n", "\n")
    return CONTROL.sub(lambda m: chr(0x2400 + ord(m.group())) if m.group() < " " else "␡", text)


def code_blocks(text: str) -> list[str]:
    return [match.group(2) for match in CODE_BLOCK.finditer(text)]


def is_finished_reply(message: Message) -> bool:
    """A reply that ended well: it can be rated and corrected (not a failed, stopped or
    still streaming one, whose text is not what the model would have said)."""
    return (
        message.role == Role.ASSISTANT
        and bool(message.content)
        and not message.incomplete
        and not message.error
    )


def is_rateable(message: Message) -> bool:
    """A finished reply written by the model: the user's own corrections are not rated."""
    return is_finished_reply(message) and message.written_by != "user"


class SiblingSwitch(Horizontal):
    """‹ 2/3 ›: which alternative of a message is shown; click the arrows to switch."""

    DEFAULT_CSS = """
    SiblingSwitch { width: auto; height: 1; }
    SiblingSwitch > Static { width: auto; }
    SiblingSwitch > .arrow:hover { text-style: reverse; }
    """

    def __init__(self, message_id: str, position: int, count: int) -> None:
        super().__init__()
        self.message_id = message_id
        self.position = position
        self.count = count

    def compose(self) -> ComposeResult:
        yield Static("‹", classes="arrow previous")
        yield Static(f" {self.position}/{self.count} ", classes="count")
        yield Static("›", classes="arrow next")

    def on_click(self, event) -> None:  # noqa: ANN001
        widget = event.widget
        if widget is not None and widget.has_class("arrow"):
            step = -1 if widget.has_class("previous") else 1
            self.post_message(MessageView.SwitchSibling(self.message_id, step))


class MessageView(Vertical, can_focus=True):
    """A user or assistant message. Focus it for its keys (copy, edit, switch, details,
    and on a reply: rate, prefer, correct)."""

    BINDINGS = [
        Binding("y", "copy", "Copy"),
        Binding("b", "copy_code", "Copy code"),
        Binding("e", "edit", "Edit"),
        Binding("left,[", "sibling(-1)", "Previous version"),
        Binding("right,]", "sibling(1)", "Next version"),
        Binding("i", "toggle_details", "Details"),
        Binding("+", "rate(1)", "Good", tooltip="Rate a reply good, then say why if you like"),
        Binding("-", "rate(-1)", "Bad", tooltip="Rate a reply bad, then say why if you like"),
        Binding("0", "rate(None)", "Unrate", tooltip="Take the rating of a reply back"),
        Binding("p", "prefer", "Prefer", tooltip="Prefer this version of a reply to the others"),
        Binding("c", "correct", "Correct", tooltip="Correct a reply: write it as it should be"),
    ]

    details_visible: reactive[bool] = reactive(False)

    class SwitchSibling(TextualMessage):
        def __init__(self, message_id: str, step: int) -> None:
            super().__init__()
            self.message_id = message_id
            self.step = step

    class EditRequested(TextualMessage):
        def __init__(self, message: Message) -> None:
            super().__init__()
            self.message = message

    class CorrectionRequested(TextualMessage):
        """c on a finished reply: the screen opens the editor and keeps the correction."""

        def __init__(self, message: Message) -> None:
            super().__init__()
            self.message = message

    class RetryRequested(TextualMessage):
        def __init__(self, message_id: str | None) -> None:
            super().__init__()
            self.message_id = message_id

    class MemoriesWanted(TextualMessage):
        """Details opened on a reply that used memories: the screen sends their texts
        with show_memories (they live in the user's memory, not in the message)."""

        def __init__(self, view: MessageView) -> None:
            super().__init__()
            self.view = view

    def __init__(self, message: Message, versions: tuple[int, int] = (1, 1)) -> None:
        super().__init__(classes=f"-{message.role}")
        self.message = message
        self.versions = versions
        # The body streamed text goes into, while the reply streams.
        self._tail: Body | None = None
        self._tail_text = ""
        self._code_index = 0
        # The texts of the memories this reply used, once asked for (None: not yet).
        self._memories: list[str] | None = None

    def compose(self) -> ComposeResult:
        from chatapp.ui.widgets.message_body import Body

        with Horizontal(classes="header"):
            yield Static(self._header_text(), classes="who")
            if self.versions[1] > 1:
                yield SiblingSwitch(self.message.id, *self.versions)
        yield Body(visible(self.message.content), classes="body")
        yield Static(self._details_text(), classes="details")
        if self.message.error:
            yield ErrorBlock(self.message.error, self.message.id)
        if is_rateable(self.message):
            yield self._new_rating_bar()

    @property
    def body(self) -> Body:
        from chatapp.ui.widgets.message_body import Body

        return self.query_one(".body", Body)

    def bodies(self) -> list[Body]:
        """The Markdown of the message: one, or several for a long streamed reply."""
        from chatapp.ui.widgets.message_body import Body

        return [child for child in self.children if isinstance(child, Body)]

    @property
    def rating_bar(self) -> RatingBar | None:
        return next(iter(self.query_children(RatingBar)), None)

    def _new_rating_bar(self) -> RatingBar:
        return RatingBar(self.message.id, can_prefer=self.versions[1] > 1)

    @property
    def streaming_body(self) -> Body | None:
        """The body streamed text goes into now, if any."""
        return self._tail

    def _header_text(self) -> Content:
        message = self.message
        parts: list[str | tuple[str, str]] = [
            ("You" if message.role == Role.USER else "Assistant", "bold")
        ]
        if message.written_by == "user":
            parts.append(("  ✎ written by you", "italic"))
        elif message.role == Role.ASSISTANT and message.model:
            parts.append((f"  {message.model}", "dim"))
        if used := len(message.memories_used):
            noun = "memory" if used == 1 else "memories"
            parts.append((f"  used {used} {noun} (i)", "dim italic"))
        if message.finish_reason == FinishReason.CANCELLED:
            parts.append(("  [stopped]", "italic"))
        elif message.incomplete:
            parts.append(("  [incomplete]", "italic"))
        elif message.finish_reason == FinishReason.LENGTH:
            parts.append(("  [cut off at max_tokens]", "italic"))
        return Content.assemble(*parts)

    def _details_text(self) -> Content:
        message = self.message
        when = datetime.datetime.fromtimestamp(message.created).strftime("%Y-%m-%d %H:%M:%S")
        parts = [when]
        if message.model:
            parts.append(message.model)
        if message.prompt_tokens is not None:
            parts.append(f"prompt {message.prompt_tokens} tok")
        if message.completion_tokens is not None:
            parts.append(f"reply {message.completion_tokens} tok")
        if message.tokens_per_second:
            parts.append(f"{message.tokens_per_second:.1f} tok/s")
        if message.finish_reason:
            parts.append(f"finish: {message.finish_reason}")
        details = Content.styled(" · ".join(parts), "dim")
        if not message.memories_used:
            return details
        if self._memories is None:
            return Content.assemble(details, ("\nmemories used: …", "dim"))
        listed = "".join(f"\n  · {text}" for text in self._memories) or " (since deleted)"
        return Content.assemble(details, ("\nmemories used:", "dim"), (listed, "dim italic"))

    def show_memories(self, texts: list[str]) -> None:
        """The texts of the memories this reply used (from the screen)."""
        self._memories = texts
        self.query_one(".details", Static).update(self._details_text())

    def set_versions(self, versions: tuple[int, int]) -> None:
        if versions == self.versions:
            return
        self.versions = versions
        for switch in self.query(SiblingSwitch):
            switch.remove()
        if versions[1] > 1:
            self.query_one(".header", Horizontal).mount(SiblingSwitch(self.message.id, *versions))
        if (bar := self.rating_bar) is not None:
            bar.can_prefer = versions[1] > 1
        self.refresh_bindings()

    def watch_details_visible(self, shown: bool) -> None:
        self.set_class(shown, "-details")
        if shown and self.message.memories_used and self._memories is None:
            self.post_message(self.MemoriesWanted(self))

    # -- streaming ------------------------------------------------------------------------

    def start_stream(self) -> None:
        # On the header, not the view: a class change restyles every widget below it, and
        # under a long reply that is over a thousand (a second with the screen stopped).
        self.query_one(".header").add_class("-streaming")
        self._tail = self.body
        self._tail_text = ""

    async def write(self, text: str) -> None:
        """Append streamed text; a long reply is split over several Markdown widgets.
        Returns once the text is in its blocks (the stream painter then waits for it to be
        drawn)."""
        if self._tail is None:
            return
        text = visible(text)
        # A backlog (the screen was busy) can hold many widgets' worth at once.
        while (cut := self._split_point(text)) is not None:
            await self._append(text[:cut])
            text = await self._next_body(text[cut:])
        self._tail_text += text
        await self._append(text)

    async def _next_body(self, text: str) -> str:
        """Go on in a new body, mounted with as much of text as one holds (one layout, not
        one for the empty body and one for its text); returns the rest."""
        from chatapp.ui.widgets.message_body import Body

        self._tail_text = ""
        cut = self._split_point(text)
        head, rest = (text, "") if cut is None else (text[:cut], text[cut:])
        # Each append re-lays out the Markdown it goes to: keeping that one short, and
        # the finished ones foldable (ThreadView), keeps typing responsive.
        previous, self._tail = self._tail, Body(head, classes="body-more")
        await self.mount(self._tail, after=previous)
        self._tail_text = head
        return rest

    async def _append(self, text: str) -> None:
        assert self._tail is not None
        if text:
            # Shielded: an append cancelled halfway (the worker is) can leave the Markdown
            # with blocks half mounted and the rest of the reply never shown.
            await asyncio.shield(self._tail.append(text))

    def _split_point(self, text: str) -> int | None:
        """Where in text to start a new widget: after a blank line outside code fences,
        once the current widget holds STREAM_CHUNK_CHARS; None to keep appending."""
        combined = self._tail_text + text
        if len(combined) < STREAM_CHUNK_CHARS:
            return None
        start = max(len(self._tail_text) - 1, STREAM_CHUNK_CHARS)
        for match in PARAGRAPH_BREAK.finditer(combined, start):
            if len(FENCE.findall(combined, 0, match.start())) % 2 == 0:
                return match.end() - len(self._tail_text)
        return None

    async def finish(self, message: Message) -> None:
        """The reply is complete (or stopped): show its final text and details."""
        self._tail = None
        self.query_one(".header").remove_class("-streaming")
        self.message = message
        final = visible(message.content)
        parts = self.bodies()
        # The streamed blocks already show this text; re-parsing an 80 KB reply took 3 s.
        # (Textual before 8.2.8 lost fenced code on redraw after streaming; we require 8.2.8.)
        if "".join(part.source for part in parts) != final:
            for extra in parts[1:]:
                await extra.remove()
            await self.body.update(final)
        self.query_one(".who", Static).update(self._header_text())
        self.query_one(".details", Static).update(self._details_text())
        if is_rateable(message) and self.rating_bar is None:
            await self.mount(self._new_rating_bar())
        self.refresh_bindings()

    def show_error(self, error: str, retry_id: str | None) -> None:
        for block in self.query(ErrorBlock):
            block.remove()
        self.mount(ErrorBlock(error, retry_id))

    # -- actions --------------------------------------------------------------------------

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.message.content)
        self.notify("Message copied to the clipboard")

    def action_copy_code(self) -> None:
        blocks = code_blocks(self.message.content)
        if not blocks:
            self.notify("This message has no code block", severity="warning")
            return
        index = self._code_index % len(blocks)
        self._code_index += 1
        self.app.copy_to_clipboard(blocks[index])
        self.notify(f"Code block {index + 1}/{len(blocks)} copied to the clipboard")

    def action_edit(self) -> None:
        if self.message.role == Role.USER:
            self.post_message(self.EditRequested(self.message))

    def action_sibling(self, step: int) -> None:
        if self.versions[1] > 1:
            self.post_message(self.SwitchSibling(self.message.id, step))

    def action_toggle_details(self) -> None:
        self.details_visible = not self.details_visible

    def action_rate(self, thumb: int | None) -> None:
        if (bar := self.rating_bar) is not None:
            bar.rate(thumb)

    def action_prefer(self) -> None:
        if (bar := self.rating_bar) is not None:
            bar.prefer()

    def action_correct(self) -> None:
        self.post_message(self.CorrectionRequested(self.message))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The rating keys only on a reply with a rating bar (none in an incognito chat),
        prefer only when it has alternatives, correct only on a finished reply."""
        bar = self.rating_bar
        if action == "rate":
            return bar is not None and bar.display
        if action == "prefer":
            return bar is not None and bar.display and bar.can_prefer
        if action == "correct":
            return is_finished_reply(self.message)
        return super().check_action(action, parameters)


class ErrorBlock(Horizontal):
    """What went wrong with a reply, in one line, and a Retry button."""

    def __init__(self, error: str, retry_id: str | None) -> None:
        super().__init__(classes="error-block")
        self.error = error
        self.retry_id = retry_id

    def compose(self) -> ComposeResult:
        yield Static(Content(f"⚠ {self.error}"), classes="error-text")
        yield Button("Retry", variant="warning", compact=True, classes="retry")

    @on(Button.Pressed, ".retry")
    def retry(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(MessageView.RetryRequested(self.retry_id))
