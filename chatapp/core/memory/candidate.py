"""What the memory extractor proposes: the Candidate record and the kinds of free-form
facts, with the character classes and the word-set helper its parts share (extract.py,
values.py, rules.py, model_extract.py), so that none of them imports another in a circle."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatapp.core.memory.slots import SLOTS

# Kinds of free-form facts (slot None).
LIKES = "likes"
DISLIKES = "dislikes"
SPEAKS = "speaks"
PROGRAMMING = "programming"
KINDS: frozenset[str] = SLOTS | {LIKES, DISLIKES, SPEAKS, PROGRAMMING}


@dataclass(frozen=True, slots=True)
class Candidate:
    """A fact proposed for memory. text is what would be stored, slot the slot it would
    fill (None for a free-form fact), value the bare value ("Sam"), span the (start, end)
    in the message of the words it came from ("I'm Sam"), kind what it is: the slot, or
    for a free-form fact likes, dislikes, speaks or programming ("" when not known)."""

    text: str
    slot: str | None
    value: str
    span: tuple[int, int]
    kind: str = ""


def unique(candidates: list[Candidate]) -> list[Candidate]:
    """candidates in order, without a later one of the same kind, slot and value (any case)."""
    seen: set[tuple[str, str | None, str]] = set()
    kept: list[Candidate] = []
    for candidate in candidates:
        key = (candidate.kind, candidate.slot, candidate.value.casefold())
        if key not in seen:
            seen.add(key)
            kept.append(candidate)
    return kept


# Character classes, for use inside [...] in a pattern.
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
LATIN = "A-Za-z\u00c0-\u024f"
CJK_CHAR = re.compile(rf"[{CJK}]")


def words(text: str) -> frozenset[str]:
    """The set of the words of text, split at white space: a closed list written as prose."""
    return frozenset(text.split())
