"""Exports of feedback as the data sets alignment tools load as they are (TRL's
conversational formats, OpenAI preference fine-tuning), one JSON object a line:

    raw     the events as stored, the user name replaced by an HMAC-SHA256 of it
    dpo     {"prompt": [msgs], "chosen": [assistant msg], "rejected": [assistant msg]}
    kto     {"prompt": [msgs], "completion": [assistant msg], "label": true|false}
    sft     {"messages": [msgs..., assistant msg]}
    openai  {"input": {"messages": [msgs]}, "preferred_output": [assistant msg],
             "non_preferred_output": [assistant msg]}

Only events the user consented to are exported: consent when the event was recorded and
consent now (the report counts the rest as held back). What counts as a preference or a
label is signals.py's: the latest rating per reply, no ties, no implicit signals, pairs
only between replies that saw the same context. Every row is checked before it is
written (roles in order, no empty message, the reply last) and skipped with a reason
when it fails; texts are redacted and saved memories taken out of prompts by default.

An export streams, so memory does not grow with the log: each user's events are read a
month at a time (UserFeedback.months), once to index them (signals.py keeps ids, times,
thumbs and digests of contexts) and once more to fill in the rows in order, keeping from
earlier months only the replies a pair still needs; raw rows need one reading. An Export
is iterated for its rows, then holds its report; write_export writes the rows to a temp
file as they come and puts it in place (fsync, os.replace) only once all went well.

Errors: OneSidedKto (a ChatappError) for a KTO set with one label only, unless forced,
raised when the last row has been read; writing raises the store's StorageUnavailable.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import hmac
import math
from collections import Counter
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

import orjson

from chatapp.core.errors import ChatappError
from chatapp.core.feedback.card import card_path, dataset_card
from chatapp.core.feedback.records import (
    EXPLICIT_TYPES,
    Candidate,
    Choice,
    EventType,
    FeedbackEvent,
    InvalidFeedback,
    TemplateRef,
    Turn,
)
from chatapp.core.feedback.redact import Scrubber
from chatapp.core.feedback.report import ExportReport, KtoBalance
from chatapp.core.feedback.signals import (
    ExamplePlan,
    Keep,
    LabelIndex,
    LatestChoices,
    PairPlan,
    PreferenceIndex,
    Ref,
    in_order,
    position_skew,
)
from chatapp.core.text import is_blank
from chatapp.store.tinystore import replacing, write_atomically

Message = dict[str, str]
Row = dict[str, Any]

WRITE_BUFFER = 1 << 20
LOST = "its event could not be read again"


class ExportFormat(StrEnum):
    RAW = "raw"
    DPO = "dpo"
    KTO = "kto"
    SFT = "sft"
    OPENAI = "openai"


class UnknownFormat(ChatappError):
    def __init__(self, name: str) -> None:
        known = ", ".join(ExportFormat)
        super().__init__(f"unknown export format {name!r} (one of: {known})")


class OneSidedKto(ChatappError):
    """KTO learns from the contrast of good and bad replies; one kind alone teaches it
    little and TRL only warns, so the export refuses unless forced."""

    def __init__(self, desirable: int, undesirable: int) -> None:
        total, value = desirable + undesirable, "true" if desirable else "false"
        super().__init__(
            f"refusing to write a KTO set whose {total} labels are all {value}"
            f" ({desirable} true, {undesirable} false); rate some replies the other way,"
            " or force it"
        )
        self.desirable = desirable
        self.undesirable = undesirable


class Months(Protocol):
    """Reads one user's events (again) a month at a time: the oldest month first, each
    month's events oldest first, as FeedbackRepo.events_by_month does. only: the ids of
    the events wanted; kinds: their types (None: all)."""

    def __call__(
        self,
        *,
        only: Container[str] | None = None,
        kinds: Container[EventType] | None = None,
    ) -> Iterable[Sequence[FeedbackEvent]]: ...


@dataclass(frozen=True, slots=True)
class UserFeedback:
    """One user's events and their answer to "may your feedback be used for training"."""

    user: str
    months: Months
    consent: bool | None

    @classmethod
    def of(cls, user: str, events: Iterable[FeedbackEvent], consent: bool | None) -> UserFeedback:
        """From events held in memory, as if all from one month."""
        held = in_order(events)

        def months(
            *, only: Container[str] | None = None, kinds: Container[EventType] | None = None
        ) -> list[list[FeedbackEvent]]:
            wanted = [
                event
                for event in held
                if (only is None or event.event_id in only)
                and (kinds is None or event.type in kinds)
            ]
            return [wanted] if wanted else []

        return cls(user, months, consent)

    @property
    def events(self) -> Iterator[FeedbackEvent]:
        """Every event, oldest first, read a month at a time."""
        return _one_month_at_a_time(self.months())


@dataclass(frozen=True, slots=True)
class _Draft:
    """A row before validation: where it came from, and why it cannot go out (if so)."""

    source: str
    row: Row
    problem: str | None
    redactions: Counter[str]
    label: bool | None = None


@dataclass(frozen=True, slots=True)
class _Scope:
    """The events an export is about: at or after since, with a reply from model or
    template (a name, or one version), when given."""

    since: float | None
    model: str | None
    template: str | TemplateRef | None

    def __call__(self, event: FeedbackEvent) -> bool:
        return (self.since is None or event.ts >= self.since) and _made_by(
            event, self.model, self.template
        )


@dataclass
class _Tally:
    """What the rows so far add up to, for the report."""

    rows: int = 0
    users: int = 0
    held_back: int = 0
    sources: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    redactions: Counter[str] = field(default_factory=Counter)
    labels: Counter[bool] = field(default_factory=Counter)
    choices: list[Choice] = field(default_factory=list)

    def passes(self, draft: _Draft) -> bool:
        """Count the draft as written or as skipped (by why); True if it goes out."""
        if draft.problem is not None:
            self.skipped[draft.problem] += 1
            return False
        self.rows += 1
        self.sources[draft.source] += 1
        for kind, number in draft.redactions.items():
            if number > 0:
                self.redactions[kind] += number
        if draft.label is not None:
            self.labels[draft.label] += 1
        return True


def export(
    feedback: Sequence[UserFeedback],
    format: ExportFormat | str,
    *,
    key: bytes | None = None,
    redact: bool = True,
    include_memories: bool = False,
    force: bool = False,
    since: float | None = None,
    model: str | None = None,
    template: str | TemplateRef | None = None,
) -> Export:
    """An export of feedback (one UserFeedback per user): iterate it for the rows, then
    read its report. key: the HMAC key user names are hashed with (export_key_for),
    needed for raw. since (a timestamp), model and template (a name, or one version)
    narrow it to the events at or after since whose replies came from that model or
    template."""
    kind = _format(format)
    if kind is ExportFormat.RAW and not key:
        raise ValueError("a raw export needs the key user names are hashed with")
    return Export(
        kind,
        feedback,
        key=key or b"",
        scrubber=_Remembering(redacting=redact, include_memories=include_memories),
        force=force,
        scope=_Scope(since, model, template),
    )


class Export:
    """An export under way: iterate it (once) for its rows, each validated and redacted,
    then read its report. Rows come user by user; within a user, raw rows oldest first,
    pairs by their latest event, examples by their event."""

    def __init__(
        self,
        kind: ExportFormat,
        feedback: Sequence[UserFeedback],
        *,
        key: bytes,
        scrubber: Scrubber,
        force: bool,
        scope: _Scope,
    ) -> None:
        self.kind = kind
        self._feedback = feedback
        self._key = key
        self._scrubber = scrubber
        self._force = force
        self._scope = scope
        self._started = False
        self._report: ExportReport | None = None

    def __iter__(self) -> Iterator[Row]:
        if self._started:
            raise RuntimeError("the rows of an export can be read once")
        self._started = True
        return self._rows()

    @property
    def report(self) -> ExportReport:
        """What the export did; there once every row has been read."""
        if self._report is None:
            raise RuntimeError("the report of an export is there once its rows were read")
        return self._report

    def _rows(self) -> Iterator[Row]:
        tally = _Tally()
        for source in self._feedback:
            written = tally.rows
            for draft in self._drafts(source, tally):
                if tally.passes(draft):
                    yield draft.row
            tally.users += tally.rows > written
        balance = None
        if self.kind is ExportFormat.KTO:
            balance = KtoBalance(desirable=tally.labels[True], undesirable=tally.labels[False])
            if balance.one_sided and not self._force:
                raise OneSidedKto(balance.desirable, balance.undesirable)
        self._report = self._reported(tally, balance)

    def _reported(self, tally: _Tally, balance: KtoBalance | None) -> ExportReport:
        skew = self.kind in (ExportFormat.RAW, ExportFormat.DPO, ExportFormat.OPENAI)
        scope = self._scope
        return ExportReport(
            format=str(self.kind),
            rows=tally.rows,
            users=tally.users,
            sources=dict(tally.sources),
            held_back=tally.held_back,
            skipped=dict(tally.skipped),
            redacted=self._scrubber.redacting,
            memories_included=self._scrubber.include_memories,
            redactions=dict(tally.redactions),
            position=position_skew(tally.choices) if skew else None,
            kto=balance,
            filters=_filters(scope.since, scope.model, scope.template),
        )

    # -- one user's rows ---------------------------------------------------------------

    def _drafts(self, source: UserFeedback, tally: _Tally) -> Iterator[_Draft]:
        """The rows of one user's events in scope, if they consented to each (then and
        now); counts the events held back and the choices that make the position skew."""
        consented, in_scope = source.consent is True, self._scope

        def keep(event: FeedbackEvent) -> bool:
            return consented and event.consent and in_scope(event)

        if self.kind is ExportFormat.RAW:
            yield from self._raw_drafts(source, keep, tally)
        elif self.kind in (ExportFormat.DPO, ExportFormat.OPENAI):
            yield from self._pair_drafts(self._pair_plans(source, keep, tally), source)
        else:
            yield from self._example_drafts(self._example_plans(source, keep, tally), source)

    def _raw_drafts(self, source: UserFeedback, keep: Keep, tally: _Tally) -> Iterator[_Draft]:
        choices = LatestChoices(keep)
        for event in _one_month_at_a_time(source.months()):
            choices.add(event)
            if keep(event):
                yield _raw(event, self._key, self._scrubber)
            elif self._scope(event):
                tally.held_back += 1
        tally.choices.extend(note.choice for note in choices.notes() if note.seen.kept)

    # The indexes go when these return: only the plans are kept while the rows are made.

    def _pair_plans(self, source: UserFeedback, keep: Keep, tally: _Tally) -> list[PairPlan]:
        index = PreferenceIndex(keep)
        self._index(source, index.add, keep, tally)
        tally.choices.extend(note.choice for note in index.choices.notes() if note.seen.kept)
        return index.plans()

    def _example_plans(self, source: UserFeedback, keep: Keep, tally: _Tally) -> list[ExamplePlan]:
        index = LabelIndex(keep, trivial_corrections=self.kind is ExportFormat.SFT)
        self._index(source, index.add, keep, tally)
        plans = index.plans()
        return [plan for plan in plans if plan.label] if self.kind is ExportFormat.SFT else plans

    def _index(
        self, source: UserFeedback, add: Callable[[FeedbackEvent], None], keep: Keep, tally: _Tally
    ) -> None:
        """The first reading: every explicit event to the index (the others never make
        a row of these formats, and are not even read as events); those in scope but
        not kept counted as held back."""
        for event in _one_month_at_a_time(source.months(kinds=EXPLICIT_TYPES)):
            add(event)
            tally.held_back += self._scope(event) and not keep(event)

    def _pair_drafts(self, plans: list[PairPlan], source: UserFeedback) -> Iterator[_Draft]:
        shape = _dpo_row if self.kind is ExportFormat.DPO else _openai_row
        for plan, anchor, borrowed in _read_again(plans, source):
            chosen, rejected = (_reply_in(ref, anchor, borrowed) for ref in plan.refs)
            if anchor is None or chosen is None or rejected is None:
                yield _Draft(plan.source, {}, LOST, Counter())
            else:
                yield _pair(anchor.context, chosen, rejected, plan.source, self._scrubber, shape)

    def _example_drafts(self, plans: list[ExamplePlan], source: UserFeedback) -> Iterator[_Draft]:
        for plan, anchor, _ in _read_again(plans, source):
            if anchor is None:
                yield _Draft(plan.source, {}, LOST, Counter())
                continue
            example = plan.example(anchor)
            prompt, reply = example.prompt, example.reply
            if self.kind is ExportFormat.KTO:
                yield _kto(prompt, reply, example.label, example.source, self._scrubber)
            else:
                yield _sft(prompt, reply, example.source, self._scrubber)


Plan = TypeVar("Plan", PairPlan, ExamplePlan)


def _read_again(
    plans: list[Plan], source: UserFeedback
) -> Iterator[tuple[Plan, FeedbackEvent | None, Mapping[Ref, Candidate]]]:
    """Each plan in order, with its anchor event (None if it could not be read again)
    and the replies it borrows from other events. The events are read again a month at a
    time; a borrowed reply is kept from its month until the last plan that needs it."""
    wanted = Counter(ref for plan in plans for ref in plan.borrowed)
    lenders = {event_id for event_id, _ in wanted}
    carried: dict[Ref, Candidate] = {}
    position = 0
    for month in source.months(only=lenders.union(plan.anchor for plan in plans)):
        here = {event.event_id: event for event in month}
        for event_id in lenders.intersection(here):
            for reply in here[event_id].candidates:
                if (event_id, reply.message_id) in wanted:
                    carried[event_id, reply.message_id] = reply
        # Months follow each other in time: the plans anchored here come next.
        last = month[-1].ts if month else -math.inf
        del month  # let it go before the next month is read: two at once double the peak
        while position < len(plans) and plans[position].ts <= last:
            plan = plans[position]
            position += 1
            yield plan, here.get(plan.anchor), carried
            for ref in plan.borrowed:
                wanted[ref] -= 1
                if not wanted[ref]:
                    del wanted[ref]
                    carried.pop(ref, None)
        del here
    for plan in plans[position:]:
        yield plan, None, carried


def _one_month_at_a_time(months: Iterable[Sequence[FeedbackEvent]]) -> Iterator[FeedbackEvent]:
    """The events of months, letting each month go before the next is read: holding two
    at once would double what an export holds."""
    for month in months:
        yield from month
        del month


def _reply_in(
    ref: Ref, anchor: FeedbackEvent | None, borrowed: Mapping[Ref, Candidate]
) -> Candidate | None:
    event_id, message_id = ref
    if anchor is not None and event_id == anchor.event_id:
        return anchor.candidate(message_id)
    return borrowed.get(ref)


# How often (in rows) write_export tells its progress.
PROGRESS_EVERY = 1000


def write_export(result: Export, path: Path, progress: Callable[[int], None] | None = None) -> Path:
    """Write the rows to path (JSON lines, UTF-8) as they come, and the dataset card
    beside it (FILE.md); returns the card's path. The rows go to a temp file put in
    place only once all were written: a crash, or an error such as OneSidedKto, leaves
    whatever was at path before. progress, if given, hears the rows written so far
    every PROGRESS_EVERY rows."""
    written = 0
    with replacing(path, WRITE_BUFFER) as handle, _collector_paused():
        for row in result:
            handle.write(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))
            written += 1
            if progress is not None and written % PROGRESS_EVERY == 0:
                progress(written)
    card = card_path(path)
    write_atomically(card, dataset_card(result.report, data_file=path.name).encode())
    return card


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off for a while. Events, indexes and rows hold no cycles,
    so reference counting frees them all the same; but with a month of events alive,
    every full collection walks the whole month again, which made half of an export's
    time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def feedback_of(data_dir: Path, users: Sequence[str], since: float | None) -> list[UserFeedback]:
    """Each user's events from since on, read from their files a month at a time
    whenever they are iterated, with their answer about training use."""
    from chatapp.store.feedback import FeedbackRepo
    from chatapp.store.users import UserDir

    found = []
    for name in users:
        repo = FeedbackRepo(UserDir(data_dir, name).feedback)
        found.append(UserFeedback(name, partial(repo.events_by_month, since), repo.consent()))
    return found


def export_key_for(data_dir: Path) -> bytes:
    """The key user names are hashed with in raw exports: one per data folder, so a user
    keeps one pseudonym across exports and users (made once, 0600)."""
    from chatapp.store.feedback import export_key

    return export_key(data_dir / "feedback-export.key")


def is_dataset_card(path: Path) -> bool:
    """Is the file at path a card an earlier export wrote (safe to replace)?"""
    from chatapp.core.feedback.card import CARD_START

    try:
        with path.open("rb") as handle:
            return handle.read(len(CARD_START)) == CARD_START
    except FileNotFoundError:
        return False


def user_hash(key: bytes, user: str) -> str:
    """The pseudonym of user in exports: stable for one key, not reversible without it."""
    return hmac.new(key, user.encode(), hashlib.sha256).hexdigest()


# -- rows of each format -----------------------------------------------------------------


def _raw(event: FeedbackEvent, key: bytes, scrubber: Scrubber) -> _Draft:
    row = event.to_dict()
    row["user"] = user_hash(key, event.user)
    row["context"] = _messages(event.context, scrubber)
    for candidate in row["candidates"]:
        candidate["content"] = scrubber.reply_text(candidate["content"])
    if row["rating"] is not None:
        row["rating"]["comment"] = scrubber.reply_text(row["rating"]["comment"])
    problem = None
    try:
        FeedbackEvent.from_dict(row)
    except InvalidFeedback as error:
        problem = str(error)
    return _Draft(str(event.type), row, problem, scrubber.take_counts())


Shape = Callable[[list[Message], Message, Message], Row]


def _dpo_row(prompt: list[Message], chosen: Message, rejected: Message) -> Row:
    return {"prompt": prompt, "chosen": [chosen], "rejected": [rejected]}


def _openai_row(prompt: list[Message], chosen: Message, rejected: Message) -> Row:
    return {
        "input": {"messages": prompt},
        "preferred_output": [chosen],
        "non_preferred_output": [rejected],
    }


def _pair(
    context: tuple[Turn, ...],
    chosen: Candidate,
    rejected: Candidate,
    source: str,
    scrubber: Scrubber,
    shape: Shape,
) -> _Draft:
    prompt = _messages(context, scrubber)
    better, worse = _reply(chosen, scrubber), _reply(rejected, scrubber)
    problem = _prompt_problem(prompt) or _reply_problem(better) or _reply_problem(worse)
    if problem is None and better["content"] == worse["content"]:
        problem = "chosen and rejected replies are the same"
    return _Draft(source, shape(prompt, better, worse), problem, scrubber.take_counts())


def _kto(
    context: tuple[Turn, ...], reply: Candidate, label: bool, source: str, scrubber: Scrubber
) -> _Draft:
    prompt, completion = _messages(context, scrubber), _reply(reply, scrubber)
    problem = _prompt_problem(prompt) or _reply_problem(completion)
    row = {"prompt": prompt, "completion": [completion], "label": label}
    return _Draft(source, row, problem, scrubber.take_counts(), label)


def _sft(context: tuple[Turn, ...], reply: Candidate, source: str, scrubber: Scrubber) -> _Draft:
    prompt, answer = _messages(context, scrubber), _reply(reply, scrubber)
    problem = _prompt_problem(prompt) or _reply_problem(answer)
    return _Draft(source, {"messages": [*prompt, answer]}, problem, scrubber.take_counts())


@dataclass
class _Remembering(Scrubber):
    """A Scrubber that remembers the texts it cleaned last and what it replaced in each,
    so a text met again is cleaned once: the system prompt of every row, the history the
    turns of a conversation share, a prompt several pairs share. Rows and counts come out
    as the Scrubber's."""

    limit: int = 4096
    _cleaned: dict[tuple[bool, str], tuple[str, Counter[str]]] = field(default_factory=dict)

    def prompt_text(self, text: str) -> str:
        return self._remembered(True, text)

    def reply_text(self, text: str) -> str:
        return self._remembered(False, text)

    def _remembered(self, in_prompt: bool, text: str) -> str:
        found = self._cleaned.get((in_prompt, text))
        if found is None:
            pending, self.counts = self.counts, Counter()
            clean = super().prompt_text(text) if in_prompt else super().reply_text(text)
            found, self.counts = (clean, self.counts), pending
            if len(self._cleaned) >= self.limit:
                # Start again: dropping the oldest one at a time looks cheaper, but a
                # dict emptied from the front makes each next(iter()) walk the holes.
                self._cleaned.clear()
            self._cleaned[in_prompt, text] = found
        if found[1]:
            self.counts.update(found[1])
        return found[0]


def _messages(context: Iterable[Turn], scrubber: Scrubber) -> list[Message]:
    """The context as exported: cleaned, and without a system message that held only
    the saved memories."""
    messages = [
        {"role": turn.role, "content": scrubber.prompt_text(turn.content)} for turn in context
    ]
    return [m for m in messages if m["role"] != "system" or not is_blank(m["content"])]


def _reply(reply: Candidate, scrubber: Scrubber) -> Message:
    return {"role": "assistant", "content": scrubber.reply_text(reply.content)}


# -- validation --------------------------------------------------------------------------


def _prompt_problem(messages: list[Message]) -> str | None:
    """Why a prompt cannot go out, or None: an optional system message first, then user
    and assistant turns in alternation, starting and ending with the user's."""
    if not messages:
        return "empty prompt"
    roles = [message["role"] for message in messages]
    turns = roles[1:] if roles[0] == "system" else roles
    if "system" in turns:
        return "a system message after the first"
    if not turns:
        return "a prompt without a user message"
    if turns[0] != "user":
        return "a prompt that does not start with a user message"
    if any(a == b for a, b in zip(turns, turns[1:], strict=False)):
        return "a prompt whose roles do not alternate"
    if turns[-1] != "user":
        return "a prompt that does not end with a user message"
    if any(is_blank(message["content"]) for message in messages):
        return "an empty message in the prompt"
    return None


def _reply_problem(reply: Message) -> str | None:
    return "an empty reply" if is_blank(reply["content"]) else None


# -- the report --------------------------------------------------------------------------


def _format(format: ExportFormat | str) -> ExportFormat:
    try:
        return ExportFormat(format)
    except ValueError:
        raise UnknownFormat(str(format)) from None


def _made_by(event: FeedbackEvent, model: str | None, template: str | TemplateRef | None) -> bool:
    if model is not None and all(c.model != model for c in event.candidates):
        return False
    if template is None:
        return True
    if isinstance(template, TemplateRef):
        return any(c.template == template for c in event.candidates)
    return any(c.template is not None and c.template.name == template for c in event.candidates)


def _filters(
    since: float | None, model: str | None, template: str | TemplateRef | None
) -> dict[str, str]:
    filters = {}
    if since is not None:
        filters["since"] = datetime.fromtimestamp(since, UTC).isoformat(timespec="seconds")
    if model is not None:
        filters["model"] = model
    if template is not None:
        filters["template"] = str(template)
    return filters
