"""Model output made safe to print on a terminal: its control sequences removed.

A reply printed raw by ``chatapp ask`` or ``chatapp show`` could clear the screen, switch
to the alternate screen, retitle the window, write the clipboard (OSC 52) or hide text
behind a carriage return. Everything a terminal would act on is removed; every other
character, all of Unicode included, is printed as it came:

- escape sequences: CSI (``ESC [`` … final byte), OSC (``ESC ]`` … BEL or ST), DCS, SOS,
  PM and APC (``ESC P``, ``ESC X``, ``ESC ^``, ``ESC _`` … ST), and the others, such as
  ``ESC c`` (reset) or ``ESC ( 0`` (line-drawing characters);
- the same sequences opened by their one-character C1 forms (U+009B CSI, U+009D OSC, …);
- the control characters left: C0 but newline and tab, DEL, C1. Every ``\\r`` goes, so
  ``\\r\\n`` becomes ``\\n`` and text cannot be overwritten from the start of its line.

A sequence missing its end is removed up to the end of the text. One whose body runs past
MAX_SEQUENCE_CHARS is cut there and the rest shows as text: a reply that opens a title and
never closes it must not keep the rest of a streamed reply back for good.

``strip_controls`` is for a whole text; ``TerminalFilter`` for a text that arrives in
pieces. Both are the same scan, so however the pieces are cut, they print the same text.
"""

from __future__ import annotations

import re

MAX_SEQUENCE_CHARS = 4096
"""The longest body (parameters or string) of a sequence; past it the sequence is cut."""

_N = MAX_SEQUENCE_CHARS
# A match is a control character, then, told apart by that character (the lookbehinds),
# the rest of the sequence it opens: a body of bounded length and an optional end, in a
# named group. A match that reaches the end of the text with no group set might go on in
# the next piece (see _scan). No body can hold its end, so a match never backtracks.
# Starting every match with one character class lets the engine skip plain text fast.
# A string body stops at any ESC: ESC \ (ST) is then removed as an escape of its own, and
# any other ESC starts a new sequence, as it does on a terminal.
_SEQUENCE = re.compile(
    rf"""
    [\x00-\x08\x0b-\x1f\x7f-\x9f]
    (?:
        (?:(?<=\x1b)\[|(?<=\x9b)) [\x20-\x3f]{{0,{_N}}} (?P<csi_final>[\x40-\x7e])?
      | (?:(?<=\x1b)\]|(?<=\x9d)) [^\x07\x1b\x9c]{{0,{_N}}} (?P<osc_end>[\x07\x9c])?
      | (?:(?<=\x1b)[PX^_]|(?<=[\x90\x98\x9e\x9f])) [^\x1b\x9c]{{0,{_N}}} (?P<string_end>\x9c)?
      | (?<=\x1b) [\x20-\x2f]{{0,{_N}}} (?P<escape_final>[\x30-\x7e])?
      | (?P<control>)
    )
    """,
    re.VERBOSE,
)


def _scan(text: str) -> tuple[str, str]:
    """The text without its sequences, and the sequence at its end if it may go on.

    The open sequence is removed from the text too: whatever comes next, it prints nothing.
    """
    kept: list[str] = []
    start = 0
    last: re.Match[str] | None = None
    for last in _SEQUENCE.finditer(text):
        kept.append(text[start : last.start()])
        start = last.end()
    kept.append(text[start:])
    safe = "".join(kept)
    if last is not None and last.lastgroup is None and last.end() == len(text):
        return safe, text[last.start() :]
    return safe, ""


def strip_controls(text: str) -> str:
    """The text with every terminal control sequence and control character removed.

    Newlines and tabs stay; a sequence left open at the end is removed to the end.
    """
    return _scan(text)[0]


class TerminalFilter:
    """Strips a text that arrives in pieces, as ``strip_controls`` strips it whole.

    A sequence may be cut anywhere between pieces: ``feed`` holds back the start of one
    still open at the end of a piece (at most MAX_SEQUENCE_CHARS and its opening) and
    prints the rest at once.
    """

    def __init__(self) -> None:
        self._open_sequence = ""

    def feed(self, piece: str) -> str:
        """What of the text so far is safe to print now, not given before."""
        safe, self._open_sequence = _scan(self._open_sequence + piece)
        return safe

    def flush(self) -> str:
        """Ends the stream: the sequence left open is dropped, ready for a new stream.

        Always empty, as only an open sequence is ever held back and it prints nothing;
        call it all the same, as on any incremental decoder.
        """
        self._open_sequence = ""
        return ""
