"""Which feedback counts, and as what.

The log keeps every event; what it means is read here. A reply's latest rating replaces
its earlier ones (a removed rating leaves none); the latest choice among the same replies
replaces earlier ones. Implicit events (regenerate, edit) are never a preference, and a
tie or an all-bad choice never makes a pair. A pair is made only of replies that saw the
same context, message for message.

"Latest" is decided over all of a user's events first; `keep` (consent, date, model)
is applied after, so a changed rating never lets an older one through.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from chatapp.core.feedback.records import (
    Candidate,
    EventType,
    FeedbackEvent,
    Source,
    TemplateRef,
    Turn,
)

Keep = Callable[[FeedbackEvent], bool]


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
    latest: dict[frozenset[str], FeedbackEvent] = {}
    for event in in_order(events):
        if event.type == EventType.PAIRWISE and event.source == Source.EXPLICIT:
            latest[frozenset(event.message_ids)] = event
    return in_order(latest.values())


def preference_pairs(events: Iterable[FeedbackEvent], keep: Keep = _everything) -> list[Pair]:
    """Every pair chosen-over-rejected the events hold, oldest first: decided pairwise
    choices (the preferred reply over each other one), non-trivial corrections (the
    rewrite over the original) and up- over down-rated replies to the same context. Two
    replies make one pair: the latest signal about them decides which way."""
    events = list(events)
    found = [*_choice_pairs(events), *_correction_pairs(events), *_sibling_pairs(events)]
    pairs: dict[frozenset[str], Pair] = {}
    for pair in sorted(found, key=lambda pair: pair.ts):
        pairs[frozenset((pair.chosen.message_id, pair.rejected.message_id))] = pair
    kept = (pair for pair in pairs.values() if all(keep(event) for event in pair.events))
    return sorted(kept, key=lambda pair: pair.ts)


def labelled_replies(
    events: Iterable[FeedbackEvent], keep: Keep = _everything, *, trivial_corrections: bool
) -> list[Example]:
    """Each reply's latest verdict, oldest first: its thumb, or, when the user rewrote it,
    False for the original and True for the rewrite. A trivial correction (a typo fixed)
    says nothing about the original: it is skipped unless trivial_corrections, and then
    only the rewrite counts, in place of the original."""
    verdicts: dict[str, Example | None] = {}
    for event in in_order(events):
        if event.source != Source.EXPLICIT:
            continue
        if event.rating is not None:
            [reply] = event.candidates
            thumb = event.rating.thumb
            verdicts[reply.message_id] = (
                None
                if thumb is None
                else Example(event.context, reply, thumb == 1, f"thumb {event.rating.label}", event)
            )
        elif event.correction is not None and (trivial_corrections or not event.correction.trivial):
            original, corrected = event.candidates
            trivial = event.correction.trivial
            verdicts[original.message_id] = (
                None if trivial else Example(event.context, original, False, "corrected", event)
            )
            verdicts[corrected.message_id] = Example(
                event.context, corrected, True, "correction", event
            )
    examples = [example for example in verdicts.values() if example and keep(example.event)]
    return sorted(examples, key=lambda example: (example.event.ts, example.event.event_id))


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


def position_skew(choices: Iterable[FeedbackEvent]) -> PositionSkew:
    """Of the decided choices (a preferred reply), how many went to the one shown first."""
    first = decided = 0
    chance = 0.0
    for event in choices:
        choice = event.choice
        if choice is None or choice.preferred is None or not choice.shown_order:
            continue
        decided += 1
        first += choice.shown_order[0] == choice.preferred
        chance += 1 / len(choice.shown_order)
    return PositionSkew(first, decided, chance / decided if decided else 0.0)


def _choice_pairs(events: list[FeedbackEvent]) -> list[Pair]:
    pairs: list[Pair] = []
    for event in latest_choices(events):
        assert event.choice is not None
        preferred = event.choice.preferred
        if preferred is None:  # a tie, or all bad: no side to learn
            continue
        if not event.context:  # a practice choice between different prompts: no shared one
            continue
        chosen = event.candidate(preferred)
        pairs.extend(
            Pair(event.context, chosen, other, "pairwise", (event,))
            for other in event.candidates
            if other.message_id != preferred
        )
    return pairs


def _correction_pairs(events: list[FeedbackEvent]) -> list[Pair]:
    pairs: list[Pair] = []
    for event in events:
        correction = event.correction
        if correction is None or correction.trivial or event.source != Source.EXPLICIT:
            continue
        original, corrected = event.candidates
        pairs.append(Pair(event.context, corrected, original, "correction", (event,)))
    return pairs


def _sibling_pairs(events: list[FeedbackEvent]) -> list[Pair]:
    """Up- over down-rated replies whose contexts are equal, message for message."""
    by_context: dict[tuple[Turn, ...], list[FeedbackEvent]] = defaultdict(list)
    for event in latest_ratings(events).values():
        by_context[event.context].append(event)
    pairs: list[Pair] = []
    for context, rated in by_context.items():
        ups = [event for event in rated if event.rating and event.rating.thumb == 1]
        downs = [event for event in rated if event.rating and event.rating.thumb == -1]
        pairs.extend(
            Pair(context, up.candidates[0], down.candidates[0], "rated siblings", (up, down))
            for up in ups
            for down in downs
        )
    return pairs
