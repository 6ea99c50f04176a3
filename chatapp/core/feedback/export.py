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

Errors: OneSidedKto (a ChatappError) for a KTO set with one label only, unless forced;
writing raises the store's StorageUnavailable.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from chatapp.core.errors import ChatappError
from chatapp.core.feedback.card import card_path, dataset_card
from chatapp.core.feedback.records import (
    Candidate,
    FeedbackEvent,
    InvalidFeedback,
    TemplateRef,
    Turn,
)
from chatapp.core.feedback.redact import Scrubber
from chatapp.core.feedback.report import ExportReport, KtoBalance
from chatapp.core.feedback.signals import (
    Keep,
    PositionSkew,
    in_order,
    labelled_replies,
    latest_choices,
    position_skew,
    preference_pairs,
)
from chatapp.core.text import is_blank
from chatapp.store.tinystore import write_atomically

Message = dict[str, str]
Row = dict[str, Any]


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


@dataclass(frozen=True, slots=True)
class UserFeedback:
    """One user's events and their answer to "may your feedback be used for training"."""

    user: str
    events: Sequence[FeedbackEvent]
    consent: bool | None


@dataclass(frozen=True, slots=True)
class Export:
    rows: list[Row]
    report: ExportReport


@dataclass(frozen=True, slots=True)
class _Draft:
    """A row before validation: where it came from, and why it cannot go out (if so)."""

    source: str
    row: Row
    problem: str | None
    redactions: Counter[str]
    label: bool | None = None


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
    """The rows of an export of feedback (one UserFeedback per user) and its report.
    key: the HMAC key user names are hashed with (FeedbackRepo.export_key), needed for
    raw. since (a timestamp), model and template (a name, or one version) narrow it to
    the events at or after since whose replies came from that model or template."""
    kind = _format(format)
    if kind is ExportFormat.RAW and not key:
        raise ValueError("a raw export needs the key user names are hashed with")
    scrubber = Scrubber(redacting=redact, include_memories=include_memories)

    def in_scope(event: FeedbackEvent) -> bool:
        return (since is None or event.ts >= since) and _made_by(event, model, template)

    found = [_gather(kind, source, in_scope, scrubber, key or b"") for source in feedback]
    drafts = [draft for gathered in found for draft in gathered.drafts]
    good = [draft for draft in drafts if draft.problem is None]
    balance = _kto_balance(good) if kind is ExportFormat.KTO else None
    if balance is not None and balance.one_sided and not force:
        raise OneSidedKto(balance.desirable, balance.undesirable)
    report = ExportReport(
        format=str(kind),
        rows=len(good),
        users=sum(any(draft.problem is None for draft in gathered.drafts) for gathered in found),
        sources=dict(Counter(draft.source for draft in good)),
        held_back=sum(gathered.held_back for gathered in found),
        skipped=dict(Counter(draft.problem for draft in drafts if draft.problem is not None)),
        redacted=redact,
        memories_included=include_memories,
        redactions=dict(+sum((draft.redactions for draft in good), Counter[str]())),
        position=_skew(kind, [event for gathered in found for event in gathered.choices]),
        kto=balance,
        filters=_filters(since, model, template),
    )
    return Export([draft.row for draft in good], report)


def write_export(result: Export, path: Path) -> Path:
    """Write the rows to path (JSON lines, UTF-8, atomically) and the dataset card
    beside it (FILE.md); returns the card's path."""
    payload = b"".join(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE) for row in result.rows)
    write_atomically(path, payload)
    card = card_path(path)
    write_atomically(card, dataset_card(result.report, data_file=path.name).encode())
    return card


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


@dataclass(frozen=True, slots=True)
class _Gathered:
    """What one user's feedback gives an export."""

    drafts: list[_Draft]
    choices: list[FeedbackEvent]
    held_back: int


def _gather(
    kind: ExportFormat,
    source: UserFeedback,
    in_scope: Keep,
    scrubber: Scrubber,
    key: bytes,
) -> _Gathered:
    """The rows of one user's events in scope, if they consented to each (then and now)."""
    consented = source.consent is True

    def keep(event: FeedbackEvent) -> bool:
        return in_scope(event) and consented and event.consent

    return _Gathered(
        drafts=_drafts(kind, source, keep, scrubber, key),
        choices=[event for event in latest_choices(source.events) if keep(event)],
        held_back=sum(in_scope(event) and not keep(event) for event in source.events),
    )


def _drafts(
    kind: ExportFormat, source: UserFeedback, keep: Keep, scrubber: Scrubber, key: bytes
) -> list[_Draft]:
    events = source.events
    if kind is ExportFormat.RAW:
        return [_raw(event, key, scrubber) for event in in_order(events) if keep(event)]
    if kind in (ExportFormat.DPO, ExportFormat.OPENAI):
        shape = _dpo_row if kind is ExportFormat.DPO else _openai_row
        return [
            _pair(pair.prompt, pair.chosen, pair.rejected, pair.source, scrubber, shape)
            for pair in preference_pairs(events, keep)
        ]
    if kind is ExportFormat.KTO:
        return [
            _kto(example.prompt, example.reply, example.label, example.source, scrubber)
            for example in labelled_replies(events, keep, trivial_corrections=False)
        ]
    return [
        _sft(example.prompt, example.reply, example.source, scrubber)
        for example in labelled_replies(events, keep, trivial_corrections=True)
        if example.label
    ]


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


def _kto_balance(drafts: list[_Draft]) -> KtoBalance:
    labels = Counter(draft.label for draft in drafts)
    return KtoBalance(desirable=labels[True], undesirable=labels[False])


def _skew(kind: ExportFormat, choices: list[FeedbackEvent]) -> PositionSkew | None:
    if kind not in (ExportFormat.RAW, ExportFormat.DPO, ExportFormat.OPENAI):
        return None
    return position_skew(choices)


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
