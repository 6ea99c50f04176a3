"""FeedbackLog: what one user says about replies, recorded as events, and what it adds up to.

The Workspace holds one log per user; the UI and the CLI record feedback only through it.
Every method that records appends one event (one locked, atomic write of the month's
file, store/feedback.py) and returns it; nothing is ever changed in place, so a changed
or removed rating is a new event that wins over the earlier one when the log is read
(signals.py). Methods block on file I/O: the UI calls them from a thread worker.

Each event carries the context as the model saw it (the caller passes the messages it
sent, e.g. core/context.py's context_seen) and the user's consent at that moment.

Errors, each a ChatappError whose text is one line for the screen:

    ChatappError
    ├── InvalidFeedback      a reason that does not go with the thumb, a choice of a reply
    │                        that was not shown, ... (records.py)
    └── StoreError           (store/errors.py) StorageUnavailable, StoreBusy
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from chatapp import __version__
from chatapp.core.feedback.records import (
    Candidate,
    Choice,
    Correction,
    EventType,
    FeedbackEvent,
    InvalidFeedback,
    Rating,
    Source,
    TemplateRef,
    context_of,
    is_trivial_change,
)
from chatapp.core.feedback.signals import (
    PracticeRecord,
    latest_choices,
    latest_ratings,
    practice_record,
    preference_pairs,
)
from chatapp.store.feedback import FeedbackRepo

Context = Sequence[Mapping[str, object]]


@dataclass(frozen=True, slots=True)
class FeedbackStats:
    """What the log adds up to. Ratings count once per reply (the latest), choices once
    per set of replies. by_label: up, down, preferred, tie, both_bad, correction, trivial
    correction, regenerate, edit. by_model and by_template: label counts for the replies
    each made (a choice counts won/lost/tie/both_bad per reply, a correction counts
    corrected). by_reason: the reasons of the latest ratings. dpo_pairs: the preference
    pairs the events hold; without_consent: events recorded before the user said yes."""

    events: int = 0
    by_label: dict[str, int] = field(default_factory=dict)
    by_model: dict[str, dict[str, int]] = field(default_factory=dict)
    by_template: dict[str, dict[str, int]] = field(default_factory=dict)
    by_reason: dict[str, int] = field(default_factory=dict)
    dpo_pairs: int = 0
    without_consent: int = 0


class FeedbackLog:
    """One user's feedback. Safe to share between threads; other processes may append
    to the same log at the same time."""

    def __init__(self, repo: FeedbackRepo, user: str, *, app_version: str = __version__) -> None:
        self.user = user
        self._repo = repo
        self._app_version = app_version

    # -- recording ---------------------------------------------------------------------

    def rate(
        self,
        reply: Candidate,
        thumb: int | None,
        context: Context,
        *,
        conversation_id: str,
        reasons: Iterable[str] = (),
        comment: str = "",
    ) -> FeedbackEvent:
        """Thumb up (+1) or down (-1) with reasons from UP_REASONS or DOWN_REASONS;
        thumb None takes the rating back. Rating again replaces the earlier rating."""
        rating = Rating(thumb, tuple(reasons), comment.strip())
        return self._record(
            EventType.RATING, Source.EXPLICIT, context, (reply,), conversation_id, rating=rating
        )

    def remove_rating(
        self, reply: Candidate, context: Context, *, conversation_id: str
    ) -> FeedbackEvent:
        return self.rate(reply, None, context, conversation_id=conversation_id)

    def prefer(
        self,
        candidates: Sequence[Candidate],
        preferred: str | None,
        context: Context,
        *,
        conversation_id: str,
        shown_order: Sequence[str] | None = None,
        tie: bool = False,
        both_bad: bool = False,
    ) -> FeedbackEvent:
        """A choice among replies to one context: preferred (a message id), or tie, or
        both_bad. shown_order: the message ids left to right (or top to bottom) as they
        were on screen; the order of candidates when not given."""
        order = tuple(shown_order) if shown_order is not None else ()
        choice = Choice(preferred, tie, both_bad, order or tuple(c.message_id for c in candidates))
        replies = tuple(candidates)
        return self._record(
            EventType.PAIRWISE, Source.EXPLICIT, context, replies, conversation_id, choice=choice
        )

    def regenerated(
        self,
        replaced: Candidate,
        context: Context,
        *,
        conversation_id: str,
        new: Candidate | None = None,
    ) -> FeedbackEvent:
        """The user asked for another reply in place of replaced: an implicit signal,
        kept in the raw log only. It is not a preference: people regenerate to see
        another take as often as to get rid of a bad one."""
        replies = (replaced,) if new is None else (replaced, new)
        return self._record(
            EventType.REGENERATE, Source.IMPLICIT, context, replies, conversation_id
        )

    def edited(
        self, original: Candidate, edited: Candidate, context: Context, *, conversation_id: str
    ) -> FeedbackEvent:
        """The user edited their own message (a new user sibling): implicit, raw log only.
        context: the messages before it."""
        replies = (original, edited)
        return self._record(EventType.EDIT, Source.IMPLICIT, context, replies, conversation_id)

    def corrected(
        self, original: Candidate, corrected: Candidate, context: Context, *, conversation_id: str
    ) -> FeedbackEvent:
        """The user rewrote a reply: corrected is better than original, unless the change
        is trivial (whitespace or a few characters, records.is_trivial_change)."""
        if corrected.content == original.content:
            raise InvalidFeedback("the correction is the same as the reply")
        correction = Correction(
            original.message_id,
            corrected.message_id,
            is_trivial_change(original.content, corrected.content),
        )
        replies = (original, corrected)
        return self._record(
            EventType.CORRECTION,
            Source.EXPLICIT,
            context,
            replies,
            conversation_id,
            correction=correction,
        )

    def _record(
        self,
        kind: EventType,
        source: Source,
        context: Context,
        candidates: tuple[Candidate, ...],
        conversation_id: str,
        *,
        rating: Rating | None = None,
        choice: Choice | None = None,
        correction: Correction | None = None,
    ) -> FeedbackEvent:
        event = FeedbackEvent(
            user=self.user,
            conversation_id=conversation_id,
            type=kind,
            source=source,
            context=context_of(context),
            candidates=candidates,
            rating=rating,
            choice=choice,
            correction=correction,
            consent=self._repo.consent() is True,
            app_version=self._app_version,
        )
        self._repo.append(event)
        return event

    # -- consent -----------------------------------------------------------------------

    def consent(self) -> bool | None:
        """Whether the user said their feedback may be used for training; None: never asked."""
        return self._repo.consent()

    def set_consent(self, training: bool) -> None:
        """Events are exported only if the user said yes when they were recorded and
        has not said no since."""
        self._repo.set_consent(training)

    # -- reading -----------------------------------------------------------------------

    def events(self, since: float | None = None) -> list[FeedbackEvent]:
        """Every event at or after since, oldest first."""
        return self._repo.events(since)

    def latest_ratings(self) -> dict[str, FeedbackEvent]:
        """Message id → its latest rating, for replies rated now (not taken back)."""
        return latest_ratings(self._repo.events())

    def stats(self, since: float | None = None) -> FeedbackStats:
        return feedback_stats(self._repo.events(since))

    def record_for(self, template_name: str, version: int | None) -> PracticeRecord:
        """The practice record of one template version (None: the built-in): wins,
        losses, ties, both bad."""
        return practice_record(self._repo.events(), TemplateRef(template_name, version))


def feedback_stats(events: Sequence[FeedbackEvent]) -> FeedbackStats:
    labels: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    models: dict[str, Counter[str]] = {}
    templates: dict[str, Counter[str]] = {}

    def count(reply: Candidate, label: str) -> None:
        labels_of = (
            (models, reply.model or "unknown"),
            *([(templates, str(reply.template))] if reply.template else []),
        )
        for table, key in labels_of:
            table.setdefault(key, Counter())[label] += 1

    for event in latest_ratings(events).values():
        assert event.rating is not None
        labels[event.rating.label] += 1
        reasons.update(event.rating.reasons)
        count(event.candidates[0], event.rating.label)
    for event in latest_choices(events):
        assert event.choice is not None
        labels[event.choice.label] += 1
        for reply in event.candidates:
            count(reply, _outcome(event.choice, reply.message_id))
    for event in events:
        if event.correction is not None:
            labels["trivial correction" if event.correction.trivial else "correction"] += 1
            count(event.candidates[0], "corrected")
        elif event.type in (EventType.REGENERATE, EventType.EDIT):
            labels[str(event.type)] += 1
    return FeedbackStats(
        events=len(events),
        by_label=dict(labels),
        by_model={key: dict(counts) for key, counts in sorted(models.items())},
        by_template={key: dict(counts) for key, counts in sorted(templates.items())},
        by_reason=dict(reasons.most_common()),
        dpo_pairs=len(preference_pairs(events)),
        without_consent=sum(not event.consent for event in events),
    )


def _outcome(choice: Choice, message_id: str) -> str:
    if choice.preferred is None:
        return choice.label
    return "won" if choice.preferred == message_id else "lost"
