"""Small facts about text that every face needs the same answer to."""

from __future__ import annotations

import unicodedata

# Characters that draw nothing but are not whitespace to str.isspace(): fillers that
# render blank (Hangul fillers, the braille blank) and the invisible format characters
# (zero-width space and joiners, word joiner, BOM, soft hyphen...) of category Cf.
_BLANK_FILLERS = frozenset("\u115f\u1160\u2800\u3164\uffa0")
_INVISIBLE = frozenset({"Cf", "Cc", "Mn", "Me"})


def is_blank(text: str) -> bool:
    """True when text shows nothing: only whitespace, controls or invisible characters
    (a message of zero-width spaces is empty, not a question)."""
    for char in text:  # a loop, not all(): most texts end at their first character
        if not (
            char.isspace() or char in _BLANK_FILLERS or unicodedata.category(char) in _INVISIBLE
        ):
            return False
    return True


def first_line(error: BaseException) -> str:
    """An error's text as one line (llama.cpp's and Python's own messages can run on for
    several); its type's name when it has no text."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
