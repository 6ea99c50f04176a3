"""Where a key is in a template's TOML text: tomllib gives values, not lines, so problems
find their line here, by reading the text for `key =` lines and `[table]` headers."""

from __future__ import annotations

import re

_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY = re.compile(rf"^\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=(.*)$")
_HEADER = re.compile(rf"^\s*\[\s*({_PART}(?:\s*\.\s*{_PART})*)\s*\]")
_DOT = re.compile(rf"\s*({_PART})\s*(?:\.|$)")

Location = tuple[str, ...]


class KeyLines:
    """The line of every key and table header of a TOML text (1-based), skipping what is
    inside multi-line strings, so a prompt's own `title = ...` line is not taken for a key."""

    def __init__(self, text: str) -> None:
        self.lines: dict[Location, int] = {}
        self.first_table = 0  # the line of the first [table] header, 0 when there is none
        self._text_below: set[Location] = set()  # strings whose text starts a line below
        self._scan(text.splitlines())

    def line(self, *location: str) -> int:
        """The line of location, else of its nearest enclosing table or key, else 1."""
        for size in range(len(location), 0, -1):
            if location[:size] in self.lines:
                return self.lines[location[:size]]
        return 1

    def value_start(self, *location: str) -> int:
        """The line where a string value's text begins: a newline right after an opening
        triple quote is not part of the string."""
        line = self.line(*location)
        return line + 1 if location in self._text_below else line

    def _scan(self, lines: list[str]) -> None:
        table: Location = ()
        closing = ""  # the delimiter that ends the multi-line string we are in
        for number, line in enumerate(lines, 1):
            if closing:
                closing = "" if closing in line else closing
                continue
            if header := _HEADER.match(line):
                table = _split(header.group(1))
                self.lines.setdefault(table, number)
                self.first_table = self.first_table or number
            elif key := _KEY.match(line):
                location = table + _split(key.group(1))
                self.lines.setdefault(location, number)
                closing = self._opens(location, key.group(2))

    def _opens(self, location: Location, value: str) -> str:
        """The delimiter of a multi-line string that value opens and does not close."""
        value = value.lstrip()
        for quotes in ('"""', "'''"):
            if value.startswith(quotes):
                rest = value[len(quotes) :]
                if not rest.strip():
                    self._text_below.add(location)
                return "" if quotes in rest else quotes
        return ""


def _split(dotted: str) -> Location:
    return tuple(part.strip("\"'") for part in _DOT.findall(dotted))
