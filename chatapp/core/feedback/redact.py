"""What must not leave the machine in an export: e-mail addresses, API keys and other
secret-looking tokens, phone numbers, home-directory paths (which carry the login name),
and the blocks of saved memories the app writes into prompts.

Each kind is replaced by a marker that says what was there ("[email]", "[key]",
"[phone]", "~" for a home folder), so a model trained on the rows learns the shape of a
reply, not the user's data. The rules lean towards removing: a commit hash is taken for
a key, an IP address with a phone-like grouping is kept only when it is a dotted quad.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from chatapp.core.memory.retrieve import PINNED_HEADING, TURN_HEADING

EMAIL = "[email]"
KEY = "[key]"
PHONE = "[phone]"
HOME = "~"

# /home/NAME, /Users/NAME, C:\Users\NAME (also C:/Users and JSON's doubled backslashes).
_HOME = re.compile(
    r"(?<!\w)(?:/home/|/Users/|[A-Za-z]:(?:\\{1,2}|/)Users(?:\\{1,2}|/))"
    r"(?!Shared\b|Public\b)[^/\\\s\"'`<>|:*?]+"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Keys with a known prefix: OpenAI/Anthropic, GitHub, AWS, Slack, Google, Hugging Face.
_PREFIXED_KEY = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{16,}"
    r"|(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|AIza[0-9A-Za-z_-]{35}"
    r"|hf_[A-Za-z0-9]{20,})"
)
_HEX_TOKEN = re.compile(r"\b[0-9a-fA-F]{32,}\b")
_BASE64_TOKEN = re.compile(r"(?<![\w+/=-])[A-Za-z0-9+/_-]{32,}={0,2}(?![\w+/=-])")
_JOINERS = re.compile(r"[-_/+]")
# Random base64 runs at about 4.5 bits a character; long identifiers and words nearer 3.5.
_TOKEN_ENTROPY = 4.0
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{8,15}"
    r"|(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{2,4}){1,5})(?!\w)"
)
_PHONE_DIGITS = range(9, 16)
# Every key is a run of at least 16 such characters (AKIA + 16; the others longer); every
# phone number has at least 9 digits.
_LONG_RUN = re.compile(r"[A-Za-z0-9+/_=-]{16}")
# (A digit first, not a group: the regex engine then skips to the digits.)
_MANY_DIGITS = re.compile(r"\d(?:\D{0,4}\d){8}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DOTTED_QUAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")

_DATE = r"\d{4}-\d{2}-\d{2}"


def _heading(heading: str) -> str:
    return _DATE.join(re.escape(part) for part in heading.split("{today}"))


# A heading line (memory/retrieve.py's PINNED_HEADING or TURN_HEADING, any day) and the
# fact lines under it, "- 2026-05-01: text".
_MEMORY_BLOCK = re.compile(
    f"(?:{_heading(PINNED_HEADING)}|{_heading(TURN_HEADING)})(?:\\n- {_DATE}: [^\\n]*)+"
)


def redact(text: str, counts: Counter[str] | None = None) -> str:
    """text with e-mail addresses, keys, phone numbers and home paths replaced; counts,
    if given, gets how many of each kind ("email", "key", "phone", "home path")."""
    tally: Counter[str] = Counter() if counts is None else counts
    # Each pattern runs only on text that could hold a match: most text holds none, and
    # the cheap tests below skip the costly searches (the output is the same).
    if "Users" in text or "/home/" in text:
        text = _replace(_HOME, text, HOME, "home path", tally)
    if "@" in text:
        text = _replace(_EMAIL, text, EMAIL, "email", tally)
    if _LONG_RUN.search(text):
        text = _replace(_PREFIXED_KEY, text, KEY, "key", tally)
        text = _replace(_HEX_TOKEN, text, KEY, "key", tally)
        text = _replace(_BASE64_TOKEN, text, KEY, "key", tally, _looks_random)
    if _MANY_DIGITS.search(text):
        text = _replace(_PHONE, text, PHONE, "phone", tally, _looks_like_phone)
    return text


def strip_memory_blocks(text: str) -> tuple[str, int]:
    """text without the blocks of saved memories the app put in it, and how many there
    were. A block sits after a system prompt ("prompt\\n\\nblock") or before a question
    ("block\\n\\nquestion"); the blank line that joined it goes with it."""
    pieces: list[str] = []
    last = found = 0
    for match in _MEMORY_BLOCK.finditer(text):
        start, end = match.span()
        if start == 0 and text.startswith("\n\n", end):
            end += 2
        elif text.endswith("\n\n", 0, start):
            start -= 2
        elif text.startswith("\n\n", end):
            end += 2
        pieces.append(text[last:start])
        last = end
        found += 1
    pieces.append(text[last:])
    return "".join(pieces), found


@dataclass
class Scrubber:
    """Cleans the texts of an export's rows and counts what it took out: memory blocks
    from prompts (unless include_memories), personal data everywhere (if redacting)."""

    redacting: bool = True
    include_memories: bool = False
    counts: Counter[str] = field(default_factory=Counter)

    def prompt_text(self, text: str) -> str:
        if not self.include_memories:
            text, blocks = strip_memory_blocks(text)
            self.counts["memory block"] += blocks
        return self.reply_text(text)

    def reply_text(self, text: str) -> str:
        return redact(text, self.counts) if self.redacting else text

    def take_counts(self) -> Counter[str]:
        """What was taken out since the last call (one row's worth), and start again."""
        counts, self.counts = self.counts, Counter()
        return counts


def _replace(
    pattern: re.Pattern[str],
    text: str,
    marker: str,
    kind: str,
    counts: Counter[str],
    accept: Callable[[str], bool] | None = None,
) -> str:
    def substitute(match: re.Match[str]) -> str:
        if accept is not None and not accept(match.group()):
            return match.group()
        counts[kind] += 1
        return marker

    return pattern.sub(substitute, text)


def _looks_random(token: str) -> bool:
    """A run of base64 characters that mixes cases and digits like a secret does, and is
    not words joined by dashes ("my-package-name-2024-Edition")."""
    pieces = _JOINERS.split(token)
    words = sum(piece.isdigit() or (piece.isalpha() and piece[1:].islower()) for piece in pieces)
    if len(pieces) > 2 and words * 2 >= len(pieces):
        return False
    if not (
        any(c.isdigit() for c in token)
        and any(c.islower() for c in token)
        and any(c.isupper() for c in token)
    ):
        return False
    frequencies = Counter(token).values()
    entropy = -sum(n / len(token) * math.log2(n / len(token)) for n in frequencies)
    return entropy >= _TOKEN_ENTROPY


def _looks_like_phone(number: str) -> bool:
    digits = sum(c.isdigit() for c in number)
    if digits not in _PHONE_DIGITS:
        return False
    return not (_ISO_DATE.match(number) or _DOTTED_QUAD.fullmatch(number))
