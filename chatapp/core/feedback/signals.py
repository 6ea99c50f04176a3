"""Which feedback counts, and as what.

The log keeps every event; what it means is read here. A reply's latest rating replaces
its earlier ones (a removed rating leaves none); the latest choice among the same replies
replaces earlier ones. Implicit events (regenerate, edit) are never a preference, and a
tie or an all-bad choice never makes a pair. A pair is made only of replies that saw the
same context, message for message.

"Latest" is decided over all of a user's events first; `keep` (consent, date, model)
is applied after, so a changed rating never lets an older one through.

A log may be too big to hold at once. The indexes (LatestChoices, PreferenceIndex,
LabelIndex) are given events one at a time, oldest first, and keep only ids, times,
thumbs and digests of contexts; what they find comes out as plans (PairPlan,
ExamplePlan) naming the events to read again for the texts, in the order of the rows.
preference_pairs and labelled_replies are the same indexes over events in memory.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import orjson

from chatapp.core.feedback.records import (
    Candidate,
    Choice,
    EventType,
    FeedbackEvent,
    Source,
    TemplateRef,
    Turn,
)

Keep = Callable[[FeedbackEvent], bool]
# A reply as one event holds it: (event_id, message_id).
Ref = tuple[str, str]

_THUMB_SOURCES = {1: "thumb up", -1: "thumb down"}


def _everything(event: FeedbackEvent) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Pair:
    """A preference: chosen over rejected, both replies to prompt. source: "pairwise",
    "correction" or "rated siblings"; events: what it was read from."""

    prompt: tuple[Turn, ...]
    chosen: Candidate
    rejected: Candidate
    source: str
    events: tuple[FeedbackEvent, ...]

    @property
    def ts(self) -> float:
        return max(event.ts for event in self.events)


@dataclass(frozen=True, slots=True)
class Example:
    """One reply to prompt, labelled good (True) or bad (False). source: "thumb up",
    "thumb down", "correction" (the user's rewrite) or "corrected" (what they rewrote)."""

    prompt: tuple[Turn, ...]
    reply: Candidate
    label: bool
    source: str
    event: FeedbackEvent


@dataclass(frozen=True, slots=True)
class PracticeRecord:
    """How a template version fared in pairwise choices against other replies."""

    wins: int = 0
    losses: int = 0
    ties: int = 0
    both_bad: int = 0

    @property
    def played(self) -> int:
        return self.wins + self.losses + self.ties + self.both_bad


@dataclass(frozen=True, slots=True)
class PositionSkew:
    """How often the reply shown first was the one chosen, against what chance gives
    (1/n for n replies): a share well above `expected` means position, not quality, won."""

    first_chosen: int
    decided: int
    expected: float

    @property
    def share(self) -> float | None:
        return self.first_chosen / self.decided if self.decided else None


# -- what the indexes keep of an event -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seen:
    """An event as an index remembers it: its id and time, and whether keep took it."""

    event_id: str
    ts: float
    kept: bool

    @classmethod
    def of(cls, event: FeedbackEvent, keep: Keep) -> Seen:
        return cls(event.event_id, event.ts, keep(event))

    @property
    def order(self) -> tuple[float, str]:
        """in_order's key: oldest first, ids breaking ties of time."""
        return self.ts, self.event_id


@dataclass(frozen=True, slots=True)
class PairPlan:
    """A pair before its texts are read: chosen over rejected, each a Ref, read from the
    events seen. The latest of them (the anchor) holds the prompt; a pair of two events
    had the same context in both, message for message."""

    chosen: Ref
    rejected: Ref
    source: str
    seen: tuple[Seen, ...]

    @property
    def ts(self) -> float:
        return max(seen.ts for seen in self.seen)

    @property
    def anchor(self) -> str:
        return max(self.seen, key=lambda seen: seen.ts).event_id

    @property
    def borrowed(self) -> tuple[Ref, ...]:
        """The replies read from an event other than the anchor (an earlier one)."""
        anchor = self.anchor
        return tuple(ref for ref in self.refs if ref[0] != anchor)

    @property
    def kept(self) -> bool:
        return all(seen.kept for seen in self.seen)

    @property
    def refs(self) -> tuple[Ref, Ref]:
        return self.chosen, self.rejected

    def pair(self, events: Mapping[str, FeedbackEvent]) -> Pair:
        """The pair, with its texts from events (event id → event)."""
        chosen, rejected = (events[event].candidate(reply) for event, reply in self.refs)
        read_from = tuple(events[seen.event_id] for seen in self.seen)
        return Pair(events[self.anchor].context, chosen, rejected, self.source, read_from)


@dataclass(frozen=True, slots=True)
class ExamplePlan:
    """A labelled reply before its text is read: the candidate at `position` of the
    event seen (the anchor, which holds the prompt too)."""

    seen: Seen
    position: int
    label: bool
    source: str

    @property
    def ts(self) -> float:
        return self.seen.ts

    @property
    def anchor(self) -> str:
        return self.seen.event_id

    @property
    def borrowed(self) -> tuple[Ref, ...]:
        return ()

    def example(self, event: FeedbackEvent) -> Example:
        """The example, with its texts from the event seen."""
        reply = event.candidates[self.position]
        return Example(event.context, reply, self.label, self.source, event)


@dataclass(frozen=True, slots=True)
class ChoiceNote:
    """The latest choice among a set of replies: has_context is False for a practice
    choice between replies to different prompts."""

    seen: Seen
    choice: Choice
    message_ids: tuple[str, ...]
    has_context: bool


@dataclass(frozen=True, slots=True)
class _RatingNote:
    seen: Seen
    message_id: str
    thumb: int | None
    context: bytes | None


# -- the indexes -----------------------------------------------------------------------------


class LatestChoices:
    """The latest explicit choice among each set of replies, of events added oldest first."""

    def __init__(self, keep: Keep = _everything) -> None:
        self._keep = keep
        self._latest: dict[frozenset[str], ChoiceNote] = {}

    def add(self, event: FeedbackEvent) -> None:
        if _is_choice(event):
            assert event.choice is not None
            ids = event.message_ids
            seen = Seen.of(event, self._keep)
            self._latest[frozenset(ids)] = ChoiceNote(seen, event.choice, ids, bool(event.context))

    def notes(self) -> list[ChoiceNote]:
        """Oldest first."""
        return sorted(self._latest.values(), key=lambda note: note.seen.order)


class PreferenceIndex:
    """preference_pairs of events added oldest first: decided pairwise choices (the
    preferred reply over each other one), non-trivial corrections (the rewrite over the
    original) and up- over down-rated replies to the same context. Two replies make one
    pair: the latest signal about them decides which way."""

    def __init__(self, keep: Keep = _everything) -> None:
        self._keep = keep
        self.choices = LatestChoices(keep)
        self._corrections: list[PairPlan] = []
        self._ratings: dict[str, _RatingNote] = {}

    def add(self, event: FeedbackEvent) -> None:
        self.choices.add(event)
        if event.source != Source.EXPLICIT:
            return
        if event.type == EventType.RATING:
            assert event.rating is not None
            thumb = event.rating.thumb
            context = context_key(event.context) if thumb is not None else None
            [message_id] = event.message_ids
            seen = Seen.of(event, self._keep)
            self._ratings[message_id] = _RatingNote(seen, message_id, thumb, context)
        elif event.correction is not None and not event.correction.trivial:
            original, corrected = event.message_ids
            seen = Seen.of(event, self._keep)
            refs = (event.event_id, corrected), (event.event_id, original)
            self._corrections.append(PairPlan(*refs, "correction", (seen,)))

    def plans(self) -> list[PairPlan]:
        """The pairs the events kept hold, oldest first (by the latest event of each)."""
        found = [*self._choice_plans(), *self._corrections, *self._sibling_plans()]
        latest: dict[frozenset[str], PairPlan] = {}
        for plan in sorted(found, key=_plan_time):
            latest[frozenset((plan.chosen[1], plan.rejected[1]))] = plan
        return sorted((plan for plan in latest.values() if plan.kept), key=_plan_time)

    def _choice_plans(self) -> list[PairPlan]:
        plans: list[PairPlan] = []
        for note in self.choices.notes():
            preferred = note.choice.preferred
            if preferred is None:  # a tie, or all bad: no side to learn
                continue
            if not note.has_context:  # a practice choice between different prompts
                continue
            event_id = note.seen.event_id
            plans.extend(
                PairPlan((event_id, preferred), (event_id, other), "pairwise", (note.seen,))
                for other in note.message_ids
                if other != preferred
            )
        return plans

    def _sibling_plans(self) -> list[PairPlan]:
        """Up- over down-rated replies whose contexts are equal, message for message."""
        by_context: dict[bytes | None, list[_RatingNote]] = defaultdict(list)
        for note in self._ratings.values():
            if note.thumb is not None:
                by_context[note.context].append(note)
        plans: list[PairPlan] = []
        for rated in by_context.values():
            ups = [note for note in rated if note.thumb == 1]
            downs = [note for note in rated if note.thumb == -1]
            plans.extend(
                PairPlan(
                    (up.seen.event_id, up.message_id),
                    (down.seen.event_id, down.message_id),
                    "rated siblings",
                    (up.seen, down.seen),
                )
                for up in ups
                for down in downs
            )
        return plans


class LabelIndex:
    """labelled_replies of events added oldest first: each reply's latest verdict."""

    def __init__(self, keep: Keep = _everything, *, trivial_corrections: bool) -> None:
        self._keep = keep
        self._trivial_corrections = trivial_corrections
        self._verdicts: dict[str, ExamplePlan | None] = {}

    def add(self, event: FeedbackEvent) -> None:
        if event.source != Source.EXPLICIT:
            return
        if event.rating is not None:
            [message_id] = event.message_ids
            thumb = event.rating.thumb
            self._verdicts[message_id] = (
                None
                if thumb is None
                else ExamplePlan(Seen.of(event, self._keep), 0, thumb == 1, _THUMB_SOURCES[thumb])
            )
        elif event.correction is not None and (
            self._trivial_corrections or not event.correction.trivial
        ):
            original, corrected = event.message_ids
            seen = Seen.of(event, self._keep)
            trivial = event.correction.trivial
            self._verdicts[original] = None if trivial else ExamplePlan(seen, 0, False, "corrected")
            self._verdicts[corrected] = ExamplePlan(seen, 1, True, "correction")

    def plans(self) -> list[ExamplePlan]:
        """The examples of the events kept, oldest first."""
        kept = [plan for plan in self._verdicts.values() if plan is not None and plan.seen.kept]
        return sorted(kept, key=lambda plan: plan.seen.order)


# -- over events in memory -------------------------------------------------------------------


def in_order(events: Iterable[FeedbackEvent]) -> list[FeedbackEvent]:
    """Oldest first; ids (ULIDs) break ties of time."""
    return sorted(events, key=lambda event: (event.ts, event.event_id))


def latest_ratings(events: Iterable[FeedbackEvent]) -> dict[str, FeedbackEvent]:
    """Message id → its latest rating event, for the replies whose latest rating is a
    thumb: a changed rating replaces the earlier one, a removed one leaves no entry."""
    latest: dict[str, FeedbackEvent] = {}
    for event in in_order(events):
        if event.type == EventType.RATING and event.source == Source.EXPLICIT:
            latest[event.message_ids[0]] = event
    return {
        message_id: event
        for message_id, event in latest.items()
        if event.rating is not None and event.rating.thumb is not None
    }


def latest_choices(events: Iterable[FeedbackEvent]) -> list[FeedbackEvent]:
    """The latest explicit pairwise event for each set of replies, oldest first."""
    index = LatestChoices()
    choices: dict[str, FeedbackEvent] = {}
    for event in in_order(events):
        if _is_choice(event):
            index.add(event)
            choices[event.event_id] = event
    return [choices[note.seen.event_id] for note in index.notes()]


def preference_pairs(events: Iterable[FeedbackEvent], keep: Keep = _everything) -> list[Pair]:
    """Every pair chosen-over-rejected the events hold, oldest first (PreferenceIndex)."""
    ordered = in_order(events)
    index = PreferenceIndex(keep)
    for event in ordered:
        index.add(event)
    by_id = {event.event_id: event for event in ordered}
    return [plan.pair(by_id) for plan in index.plans()]


def labelled_replies(
    events: Iterable[FeedbackEvent], keep: Keep = _everything, *, trivial_corrections: bool
) -> list[Example]:
    """Each reply's latest verdict, oldest first: its thumb, or, when the user rewrote it,
    False for the original and True for the rewrite. A trivial correction (a typo fixed)
    says nothing about the original: it is skipped unless trivial_corrections, and then
    only the rewrite counts, in place of the original."""
    ordered = in_order(events)
    index = LabelIndex(keep, trivial_corrections=trivial_corrections)
    for event in ordered:
        index.add(event)
    by_id = {event.event_id: event for event in ordered}
    return [plan.example(by_id[plan.anchor]) for plan in index.plans()]


def practice_record(events: Iterable[FeedbackEvent], template: TemplateRef) -> PracticeRecord:
    """Wins, losses, ties and all-bad of template's replies in the latest pairwise
    choices. A choice counts only if a reply made some other way was among them: a
    template cannot win against itself."""
    wins = losses = ties = both_bad = 0
    for event in latest_choices(events):
        assert event.choice is not None
        mine = {c.message_id for c in event.candidates if c.template == template}
        if not mine or len(mine) == len(event.candidates):
            continue
        if event.choice.tie:
            ties += 1
        elif event.choice.both_bad:
            both_bad += 1
        elif event.choice.preferred in mine:
            wins += 1
        else:
            losses += 1
    return PracticeRecord(wins, losses, ties, both_bad)


def position_skew(choices: Iterable[Choice]) -> PositionSkew:
    """Of the decided choices (a preferred reply), how many went to the one shown first."""
    first = decided = 0
    chance = 0.0
    for choice in choices:
        if choice.preferred is None or not choice.shown_order:
            continue
        decided += 1
        first += choice.shown_order[0] == choice.preferred
        chance += 1 / len(choice.shown_order)
    return PositionSkew(first, decided, chance / decided if decided else 0.0)


def context_key(context: tuple[Turn, ...]) -> bytes:
    """A digest of a context (16 bytes), the same for contexts equal message for message."""
    encoded = orjson.dumps([(turn.role, turn.content) for turn in context])
    return hashlib.blake2b(encoded, digest_size=16).digest()


def _is_choice(event: FeedbackEvent) -> bool:
    return event.type == EventType.PAIRWISE and event.source == Source.EXPLICIT


def _plan_time(plan: PairPlan) -> float:
    return plan.ts
