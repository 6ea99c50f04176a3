"""Feedback records (schema chatapp.feedback/1): what the user said about replies, with
what it takes to train on it later: the prompt as the model saw it, the candidate replies
with their model, params, template and memories, and the user's consent at the time.

    FeedbackEvent
    ├── context      Turn...        the messages as the model saw them
    ├── candidates   Candidate...   the replies the event is about
    └── by type:     rating → Rating, pairwise → Choice, correction → Correction;
                     regenerate and edit carry none (implicit signals)

Records are frozen and checked when made: a wrong one raises InvalidFeedback (a
ChatappError and a ValueError) naming what is wrong. to_dict gives plain JSON values;
from_dict checks a stored record the same way.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from chatapp.core.errors import ChatappError
from chatapp.core.models import Message, new_id, now

SCHEMA = "chatapp.feedback/1"

UP_REASONS = ("accurate", "followed instructions", "creative", "clear", "thorough", "other")
DOWN_REASONS = (
    "wrong facts",
    "did not follow instructions",
    "too long",
    "too short",
    "unhelpful",
    "refused wrongly",
    "bad style",
    "other",
)
MAX_COMMENT = 2000
# A correction that changes this many characters or fewer (whitespace aside) is a typo
# fix, not a better reply: it teaches a model nothing about preferences.
TRIVIAL_CHARS = 3

ROLES = frozenset({"system", "user", "assistant"})

E = TypeVar("E", bound=StrEnum)
P = TypeVar("P")


class InvalidFeedback(ChatappError, ValueError):
    """A feedback record that cannot be: str() says what is wrong, in one line."""


class EventType(StrEnum):
    RATING = "rating"
    PAIRWISE = "pairwise"
    REGENERATE = "regenerate"
    EDIT = "edit"
    CORRECTION = "correction"


# The types of event the user makes by saying something (a thumb, a choice, a rewrite);
# the others (regenerate, edit) are read from what they did.
EXPLICIT_TYPES = frozenset({EventType.RATING, EventType.PAIRWISE, EventType.CORRECTION})


class Source(StrEnum):
    """explicit: the user said it (a thumb, a choice, a correction); implicit: read from
    what they did (regenerated a reply, edited their message), never a preference."""

    EXPLICIT = "explicit"
    IMPLICIT = "implicit"


class Author(StrEnum):
    MODEL = "model"
    USER = "user"


@dataclass(frozen=True, slots=True)
class Turn:
    """One message of a context, as the model saw it."""

    role: str
    content: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise InvalidFeedback(f"a context message has the unknown role {self.role!r}")
        if not isinstance(self.content, str):
            raise InvalidFeedback("a context message has no text")

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Turn:
        return cls(_text(data, "role"), _text(data, "content"))


def context_of(messages: Sequence[Mapping[str, object]]) -> tuple[Turn, ...]:
    """A context as records, from chat messages ({"role", "content"}) as the model saw them."""
    return tuple(Turn.from_dict(message) for message in messages)


@dataclass(frozen=True, slots=True)
class TemplateRef:
    """The template a reply was made with; version None: a built-in, or one never saved."""

    name: str
    version: int | None = None

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name} v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TemplateRef:
        version = data.get("version")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise InvalidFeedback("a template reference has an invalid version")
        return cls(_text(data, "name"), version)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A reply an event is about: what it said and what made it."""

    message_id: str
    content: str
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    template: TemplateRef | None = None
    memory_ids: tuple[str, ...] = ()
    written_by: Author = Author.MODEL

    def __post_init__(self) -> None:
        if not isinstance(self.message_id, str) or not self.message_id:
            raise InvalidFeedback("a candidate reply has no message id")
        if not isinstance(self.content, str):
            raise InvalidFeedback(f"reply {self.message_id} has no text")

    @classmethod
    def from_message(
        cls,
        message: Message,
        *,
        template: TemplateRef | None = None,
        written_by: Author = Author.MODEL,
    ) -> Candidate:
        return cls(
            message.id,
            message.content,
            message.model,
            dict(message.params),
            template,
            tuple(message.memories_used),
            written_by,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "content": self.content,
            "model": self.model,
            "params": dict(self.params),
            "template": self.template.to_dict() if self.template else None,
            "memory_ids": list(self.memory_ids),
            "written_by": str(self.written_by),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Candidate:
        params = data.get("params", {})
        template = data.get("template")
        if not isinstance(params, dict):
            raise InvalidFeedback("a candidate reply has invalid params")
        if template is not None and not isinstance(template, dict):
            raise InvalidFeedback("a candidate reply has an invalid template")
        return cls(
            _text(data, "message_id"),
            _text(data, "content"),
            _optional_text(data, "model"),
            dict(params),
            TemplateRef.from_dict(template) if template is not None else None,
            _texts(data, "memory_ids"),
            _member(Author, data.get("written_by", Author.MODEL), "written_by"),
        )


@dataclass(frozen=True, slots=True)
class Rating:
    """A thumb with its reasons; thumb None is a rating taken back."""

    thumb: int | None
    reasons: tuple[str, ...] = ()
    comment: str = ""

    def __post_init__(self) -> None:
        if self.thumb not in (1, -1, None) or isinstance(self.thumb, bool):
            raise InvalidFeedback(f"a thumb is +1, -1 or None, not {self.thumb!r}")
        if self.thumb is None and (self.reasons or self.comment):
            raise InvalidFeedback("a removed rating has no reasons or comment")
        allowed = UP_REASONS if self.thumb == 1 else DOWN_REASONS
        for reason in self.reasons:
            if reason not in allowed:
                raise InvalidFeedback(
                    f"{reason!r} is not a reason for a thumb {self.label}"
                    f" (one of: {', '.join(allowed)})"
                )
        if len(set(self.reasons)) != len(self.reasons):
            raise InvalidFeedback("a reason is given twice")
        if len(self.comment) > MAX_COMMENT:
            raise InvalidFeedback(f"the comment is longer than {MAX_COMMENT} characters")

    @property
    def label(self) -> str:
        """ "up", "down" or "removed"."""
        if self.thumb is None:
            return "removed"
        return "up" if self.thumb == 1 else "down"

    def to_dict(self) -> dict[str, Any]:
        return {"thumb": self.thumb, "reasons": list(self.reasons), "comment": self.comment}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rating:
        thumb = data.get("thumb")
        if thumb is not None and (not isinstance(thumb, int) or isinstance(thumb, bool)):
            raise InvalidFeedback(f"a thumb is +1, -1 or None, not {thumb!r}")
        return cls(thumb, _texts(data, "reasons"), _text(data, "comment", default=""))


@dataclass(frozen=True, slots=True)
class Choice:
    """A pairwise (or n-way) choice: one preferred, a tie, or all bad; shown_order is the
    order the replies were on screen, to measure how often the first one wins."""

    preferred: str | None = None
    tie: bool = False
    both_bad: bool = False
    shown_order: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        outcomes = (self.preferred is not None) + self.tie + self.both_bad
        if outcomes != 1:
            raise InvalidFeedback("a choice is exactly one of: a preferred reply, a tie, both bad")

    @property
    def label(self) -> str:
        """ "preferred", "tie" or "both_bad"."""
        return "tie" if self.tie else "both_bad" if self.both_bad else "preferred"

    def to_dict(self) -> dict[str, Any]:
        return {
            "preferred": self.preferred,
            "tie": self.tie,
            "both_bad": self.both_bad,
            "shown_order": list(self.shown_order),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Choice:
        return cls(
            _optional_text(data, "preferred"),
            _flag(data, "tie"),
            _flag(data, "both_bad"),
            _texts(data, "shown_order"),
        )


@dataclass(frozen=True, slots=True)
class Correction:
    """The user rewrote a reply: corrected_id is the rewrite of original_id; trivial when
    only whitespace or a few characters changed (see is_trivial_change)."""

    original_id: str
    corrected_id: str
    trivial: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "original_id": self.original_id,
            "corrected_id": self.corrected_id,
            "trivial": self.trivial,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Correction:
        return cls(_text(data, "original_id"), _text(data, "corrected_id"), _flag(data, "trivial"))


@dataclass(frozen=True, slots=True)
class FeedbackEvent:
    """One thing the user said or did about replies; appended, never changed. A later
    rating of the same reply replaces an earlier one when the log is read."""

    user: str
    conversation_id: str
    type: EventType
    source: Source
    context: tuple[Turn, ...]
    candidates: tuple[Candidate, ...]
    rating: Rating | None = None
    choice: Choice | None = None
    correction: Correction | None = None
    consent: bool = False
    app_version: str = ""
    event_id: str = field(default_factory=new_id)
    ts: float = field(default_factory=now)
    schema: str = SCHEMA

    def __post_init__(self) -> None:
        if self.schema != SCHEMA:
            raise InvalidFeedback(f"unknown feedback schema {self.schema!r}")
        parts = (
            (EventType.RATING, self.rating, "rating"),
            (EventType.PAIRWISE, self.choice, "choice"),
            (EventType.CORRECTION, self.correction, "correction"),
        )
        for kind, part, name in parts:
            if (part is not None) != (self.type == kind):
                having = "with" if part is not None else "without"
                raise InvalidFeedback(f"a {self.type} event {having} a {name}")
        if not self.candidates:
            raise InvalidFeedback(f"a {self.type} event about no reply")
        ids = self.message_ids
        if len(set(ids)) != len(ids):
            raise InvalidFeedback(f"a {self.type} event names a reply twice")
        _check_shape(self)

    @property
    def message_ids(self) -> tuple[str, ...]:
        return tuple(candidate.message_id for candidate in self.candidates)

    def candidate(self, message_id: str) -> Candidate:
        for candidate in self.candidates:
            if candidate.message_id == message_id:
                return candidate
        raise KeyError(message_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "event_id": self.event_id,
            "ts": self.ts,
            "user": self.user,
            "conversation_id": self.conversation_id,
            "type": str(self.type),
            "source": str(self.source),
            "context": [turn.to_dict() for turn in self.context],
            "candidates": [candidate.to_dict() for candidate in self.candidates],
            "rating": self.rating.to_dict() if self.rating else None,
            "choice": self.choice.to_dict() if self.choice else None,
            "correction": self.correction.to_dict() if self.correction else None,
            "consent": self.consent,
            "app_version": self.app_version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, memo: Memo | None = None) -> FeedbackEvent:
        """A stored record as an event; InvalidFeedback says what is wrong with it.
        memo: what was read before, when reading many records (see Memo)."""
        if not isinstance(data, Mapping):
            raise InvalidFeedback("a feedback record is not an object")
        ts = data.get("ts")
        if not isinstance(ts, int | float) or isinstance(ts, bool):
            raise InvalidFeedback("a feedback record has no time")
        return cls(
            user=_text(data, "user"),
            conversation_id=_text(data, "conversation_id"),
            type=_member(EventType, data.get("type"), "type"),
            source=_member(Source, data.get("source"), "source"),
            context=memo.context(data) if memo else _context(data, {}),
            candidates=memo.candidates(data) if memo else _candidates(data, {}),
            rating=_part(data, "rating", Rating.from_dict),
            choice=_part(data, "choice", Choice.from_dict),
            correction=_part(data, "correction", Correction.from_dict),
            consent=_flag(data, "consent"),
            app_version=_text(data, "app_version", default=""),
            event_id=_text(data, "event_id"),
            ts=float(ts),
            schema=_text(data, "schema"),
        )


@dataclass(slots=True)
class Memo:
    """The turns and replies read so far, for FeedbackEvent.from_dict to share across
    the records of one file: the events of a conversation repeat its history, and those
    about one reply (regenerated, rated, chosen) repeat the reply. A turn or a reply met
    again is then the same object, built and checked once: an equal stored value gives
    an equal record, so nothing read changes, only the time and memory it takes."""

    turns: dict[tuple[str, str], Turn] = field(default_factory=dict)
    replies: dict[str, tuple[Mapping[str, Any], Candidate]] = field(default_factory=dict)

    def context(self, data: Mapping[str, Any]) -> tuple[Turn, ...]:
        return _context(data, self.turns)

    def candidates(self, data: Mapping[str, Any]) -> tuple[Candidate, ...]:
        return _candidates(data, self.replies)


def _context(data: Mapping[str, Any], known: dict[tuple[str, str], Turn]) -> tuple[Turn, ...]:
    turns = []
    for item in _objects(data, "context"):
        role, content = item.get("role"), item.get("content")
        if not isinstance(role, str) or not isinstance(content, str):
            raise InvalidFeedback(
                f"a feedback record has no {'content' if isinstance(role, str) else 'role'}"
            )
        turn = known.get((role, content))
        if turn is None:
            turn = known[role, content] = Turn(role, content)
        turns.append(turn)
    return tuple(turns)


def _candidates(
    data: Mapping[str, Any], known: dict[str, tuple[Mapping[str, Any], Candidate]]
) -> tuple[Candidate, ...]:
    """The candidates of a record; one stored exactly as a reply read before (same id,
    same values) is that reply."""
    candidates = []
    for item in _objects(data, "candidates"):
        key = item.get("message_id")
        seen = known.get(key) if isinstance(key, str) else None
        if seen is not None and seen[0] == item:
            candidates.append(seen[1])
            continue
        candidate = Candidate.from_dict(item)
        known[candidate.message_id] = item, candidate
        candidates.append(candidate)
    return tuple(candidates)


def _check_shape(event: FeedbackEvent) -> None:
    """What each type of event must hold beyond its part."""
    ids = event.message_ids
    if event.type == EventType.RATING and len(ids) != 1:
        raise InvalidFeedback("a rating is about exactly one reply")
    if event.choice is not None:
        if len(ids) < 2:
            raise InvalidFeedback("a choice is between two replies or more")
        if event.choice.preferred is not None and event.choice.preferred not in ids:
            raise InvalidFeedback(f"the preferred reply {event.choice.preferred} was not shown")
        if sorted(event.choice.shown_order) != sorted(ids):
            raise InvalidFeedback("shown_order must name each reply of the choice once")
    if event.correction is not None:
        expected = (event.correction.original_id, event.correction.corrected_id)
        if ids != expected:
            raise InvalidFeedback("a correction is about the original reply, then its rewrite")


def is_trivial_change(original: str, corrected: str) -> bool:
    """True when corrected differs from original only in whitespace or in at most
    TRIVIAL_CHARS characters, none of them a digit. Not a similarity ratio: in a long
    reply, "Sydney" → "Canberra" is 99% similar and the most useful correction there is;
    and "1989" → "1998" is a fact fixed in two characters."""
    before, after = " ".join(original.split()), " ".join(corrected.split())
    if before == after:
        return True
    if abs(len(before) - len(after)) > TRIVIAL_CHARS:
        return False
    # Only the middle that differs is compared: the common ends cost nothing to skip.
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    end = 0
    while end < min(len(before), len(after)) - start and before[-1 - end] == after[-1 - end]:
        end += 1
    before, after = before[start : len(before) - end], after[start : len(after) - end]
    changed = 0
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if any(char.isdigit() for char in before[i1:i2] + after[j1:j2]):
            return False
        changed += max(i2 - i1, j2 - j1)
        if changed > TRIVIAL_CHARS:
            return False
    return True


# -- reading stored values -------------------------------------------------------------


def _text(data: Mapping[str, Any], key: str, *, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise InvalidFeedback(f"a feedback record has no {key}")
    return value


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidFeedback(f"a feedback record has an invalid {key}")
    return value


def _texts(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidFeedback(f"a feedback record has an invalid {key}")
    return tuple(value)


def _flag(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise InvalidFeedback(f"a feedback record has an invalid {key}")
    return value


def _objects(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InvalidFeedback(f"a feedback record has an invalid {key}")
    return value


def _member(kind: type[E], value: object, key: str) -> E:
    member: E | None = _members(kind).get(value) if isinstance(value, str) else None
    if member is None:
        raise InvalidFeedback(f"a feedback record has the unknown {key} {value!r}")
    return member


@functools.cache
def _members(kind: type[E]) -> dict[str, E]:
    """kind's members by value: a dict look-up, where calling the enum costs a microsecond."""
    return {member.value: member for member in kind}


def _part(data: Mapping[str, Any], key: str, parse: Callable[[Mapping[str, Any]], P]) -> P | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidFeedback(f"a feedback record has an invalid {key}")
    return parse(value)
