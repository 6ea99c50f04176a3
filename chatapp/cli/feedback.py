"""`chatapp rate`, `prefer`, `correct`, `feedback consent|stats` and `export`: feedback on
replies from the shell, into the same log the TUI's thumbs write, and the training data
sets made from it (only what the user said yes to)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chatapp.cli.app import (
    EXIT_USAGE,
    UserOption,
    app,
    fail,
    open_terminal,
    settings_or_exit,
    warn,
    workspace_for,
)
from chatapp.cli.turns import continue_id, read_piped

if TYPE_CHECKING:
    from collections.abc import Iterator

    from chatapp.config import Settings
    from chatapp.core.feedback.export import ExportFormat, UserFeedback
    from chatapp.core.feedback.log import FeedbackLog, FeedbackStats
    from chatapp.core.feedback.records import FeedbackEvent
    from chatapp.core.models import Message
    from chatapp.core.session import ChatSession
    from chatapp.core.workspace import ConversationSummary, Workspace

feedback_app = typer.Typer(help="Your feedback on replies: consent to training use, totals.")
app.add_typer(feedback_app, name="feedback")

LAST = "last"
THUMBS: dict[str, int | None] = {"up": 1, "down": -1, "none": None}
ANSWERS = {"yes": True, "y": True, "no": False, "n": False}
CONSENT_QUESTION = "May your ratings be used to train models? [y/N] "
# A message is made while its conversation is open; clocks may step a little.
CLOCK_SLACK = 5.0

ReplyArgument = Annotated[
    str,
    typer.Argument(
        metavar="MESSAGE_ID|last",
        help="A reply's id (`chatapp ask --json` prints it), or last: the last reply of "
        "the last conversation.",
    ),
]
ConversationOption = Annotated[
    str | None,
    typer.Option("--conversation", help="The reply's conversation (default: found from the id)."),
]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


# -- rate, prefer, correct ----------------------------------------------------------------


@app.command()
def rate(
    target: Annotated[
        str | None,
        typer.Argument(
            metavar="[MESSAGE_ID|last]", show_default=False, help="The reply (default: last)."
        ),
    ] = None,
    thumb: Annotated[
        str | None, typer.Argument(metavar="up|down|none", help="none takes the rating back.")
    ] = None,
    reasons: Annotated[
        list[str] | None,
        typer.Option(
            "--reason",
            "-r",
            help="Why (repeatable): accurate, clear, ... for up; wrong facts, too long, ... "
            "for down (one that does not fit lists those that do).",
        ),
    ] = None,
    comment: Annotated[str, typer.Option("--comment", help="In your own words.")] = "",
    remove: Annotated[bool, typer.Option("--remove", help="Take the rating back.")] = False,
    conversation: ConversationOption = None,
    user: UserOption = None,
) -> None:
    """Rate a reply up or down, with reasons; rating it again replaces the rating.

    `chatapp rate up -r accurate`, `chatapp rate 01J... down -r "too long"`."""
    target, value = rating_arguments(target, thumb, remove)
    chosen = checked_reasons(value, reasons or [])
    if value is None and comment.strip():
        raise fail("a rating taken back has no comment", EXIT_USAGE)
    workspace = workspace_for(settings_or_exit(user))
    conversation_id, reply_id = find_reply(workspace, target, conversation)
    with consent_asked(workspace.feedback.log):
        workspace.feedback.rate(conversation_id, reply_id, value, chosen, comment)
    if value is None:
        typer.echo(f"took back the rating of {reply_id}")
    else:
        why = f" ({', '.join(chosen)})" if chosen else ""
        typer.echo(f"rated {reply_id} {'up' if value == 1 else 'down'}{why}")


def rating_arguments(target: str | None, thumb: str | None, remove: bool) -> tuple[str, int | None]:
    """(MESSAGE_ID or last, the thumb) from `rate up`, `rate ID down`, `rate ID --remove`."""
    if thumb is None and target is not None and target.lower() in THUMBS:
        target, thumb = None, target
    if remove:
        if thumb is not None and thumb.lower() != "none":
            raise fail("--remove takes the rating back: give no thumb with it", EXIT_USAGE)
        thumb = "none"
    if thumb is None:
        raise fail("say how: chatapp rate [MESSAGE_ID|last] up|down|none", EXIT_USAGE)
    if thumb.lower() not in THUMBS:
        raise fail(f"a thumb is up, down or none, not {thumb!r}", EXIT_USAGE)
    return target or LAST, THUMBS[thumb.lower()]


def checked_reasons(thumb: int | None, given: list[str]) -> list[str]:
    """The reasons as the log knows them ("too-long" is "too long"), each once; one that
    does not go with the thumb is a usage error listing those that do."""
    from chatapp.core.feedback.records import DOWN_REASONS, UP_REASONS

    if given and thumb is None:
        raise fail("a rating taken back has no reasons", EXIT_USAGE)
    allowed = UP_REASONS if thumb == 1 else DOWN_REASONS
    chosen: list[str] = []
    for reason in given:
        name = " ".join(reason.replace("-", " ").replace("_", " ").split()).casefold()
        if name not in allowed:
            label = "up" if thumb == 1 else "down"
            raise fail(
                f"{reason!r} is not a reason for a thumb {label} (one of: {', '.join(allowed)})",
                EXIT_USAGE,
            )
        if name not in chosen:
            chosen.append(name)
    return chosen


@app.command()
def prefer(
    target: ReplyArgument,
    tie: Annotated[bool, typer.Option("--tie", help="All versions are as good.")] = False,
    all_bad: Annotated[bool, typer.Option("--all-bad", help="None of them is good.")] = False,
    conversation: ConversationOption = None,
    user: UserOption = None,
) -> None:
    """Prefer a reply to its other versions (from regenerate), or call them a tie or all bad.

    Only versions made from exactly the same prompt take part."""
    if tie and all_bad:
        raise fail("--tie or --all-bad, not both", EXIT_USAGE)
    workspace = workspace_for(settings_or_exit(user))
    conversation_id, reply_id = find_reply(workspace, target, conversation)
    with consent_asked(workspace.feedback.log):
        event = workspace.feedback.prefer(conversation_id, reply_id, tie=tie, both_bad=all_bad)
    typer.echo(choice_line(event, reply_id))


def choice_line(event: FeedbackEvent, reply_id: str) -> str:
    versions = len(event.candidates)
    if event.choice is not None and event.choice.tie:
        return f"a tie between the {versions} versions of {reply_id}"
    if event.choice is not None and event.choice.both_bad:
        return f"all {versions} versions of {reply_id} are bad"
    others = versions - 1
    return f"preferred {reply_id} to {others} other version{'' if others == 1 else 's'}"


@app.command()
def correct(
    target: ReplyArgument = LAST,
    conversation: ConversationOption = None,
    user: UserOption = None,
) -> None:
    """Write your own version of a reply (in $VISUAL or $EDITOR, or piped in).

    It is kept beside the reply, shown in its place, and better than it for training."""
    workspace = workspace_for(settings_or_exit(user))
    reason = workspace.check_storage()
    if reason is not None:
        raise fail(f"cannot store a correction: {reason}")
    conversation_id, reply_id = find_reply(workspace, target, conversation)
    session = workspace.open_session(conversation_id)
    original = correctable(session, reply_id)
    text = read_piped() if sys.stdin is not None and not sys.stdin.isatty() else edited(original)
    text = text.rstrip().lstrip("\r\n")
    if not text:
        raise fail("the correction is empty: nothing stored")
    if text == original.strip():
        raise fail("the reply is unchanged: nothing stored")
    with consent_asked(workspace.feedback.log):
        corrected = asyncio.run(_correct(workspace, session, reply_id, text))
    typer.echo(corrected.id)


def correctable(session: ChatSession, reply_id: str) -> str:
    """The text of the reply to correct; checked before the editor opens on it (as
    ChatSession.correct checks it)."""
    from chatapp.core.models import Role

    reply = session.message(reply_id)
    if reply.role != Role.ASSISTANT or reply.incomplete:
        raise fail("only a finished reply can be corrected")
    return reply.content


async def _correct(workspace: Workspace, session: ChatSession, reply_id: str, text: str) -> Message:
    """Store the correction on the event loop, where the Workspace hears of it and
    records the feedback event in the background; done before the loop ends."""
    try:
        return session.correct(reply_id, text)
    finally:
        await workspace.aclose(title_wait=0)


def edited(text: str) -> str:
    """text as the user left it in their editor ($VISUAL, else $EDITOR, else vi); the
    file is private (0600) and removed afterwards."""
    import shlex
    import subprocess
    import tempfile

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    fd, name = tempfile.mkstemp(prefix="chatapp-reply-", suffix=".md")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        try:
            status = subprocess.run([*shlex.split(editor), name], check=False).returncode
        except (OSError, ValueError) as error:  # ValueError: shlex, unbalanced quotes
            why = error.strerror if isinstance(error, OSError) else None
            raise fail(f"cannot run the editor {editor!r}: {why or error}") from None
        if status != 0:
            raise fail(f"the editor {editor!r} exited with status {status}: nothing stored")
        try:
            return Path(name).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise fail("the edited text is not UTF-8: nothing stored") from None
    finally:
        Path(name).unlink(missing_ok=True)


# -- which reply ----------------------------------------------------------------------------


def find_reply(workspace: Workspace, target: str, conversation: str | None) -> tuple[str, str]:
    """(conversation id, message id) of MESSAGE_ID or last, in --conversation if given."""
    if target.lower() == LAST:
        conversation_id = conversation or last_conversation(workspace)
        return conversation_id, last_reply(workspace, conversation_id)
    if conversation is not None:
        return conversation, target
    return conversation_of(workspace, target), target


def last_conversation(workspace: Workspace) -> str:
    """The last conversation's id (turns.continue_id: it tells of damaged ones too)."""
    if workspace.last_conversation() == (None, []):
        raise fail("there is no conversation yet, so no last reply")
    return continue_id(workspace)


def last_reply(workspace: Workspace, conversation_id: str) -> str:
    """The last reply of the conversation's visible branch."""
    from chatapp.core.models import MessageTree, Role

    stored, messages = workspace.conversations.load(conversation_id)
    thread = MessageTree(messages).path_to(stored.active_leaf)
    reply = next((m for m in reversed(thread) if m.role == Role.ASSISTANT), None)
    if reply is None:
        raise fail(f"conversation {conversation_id} has no reply yet")
    return reply.id


def conversation_of(workspace: Workspace, message_id: str) -> str:
    """The conversation holding message_id. Ids are ULIDs, which say when the message
    was made: the conversations open then are read first (usually one file), the rest
    after them, newest first."""
    from chatapp.core.errors import ChatappError

    summaries = workspace.list_conversations()
    made = made_at(message_id)
    for summary in summaries if made is None else open_first(summaries, made):
        try:
            _, messages = workspace.conversations.load(summary.id)
        except ChatappError:
            continue  # damaged or deleted since it was listed
        if any(message.id == message_id for message in messages):
            return summary.id
    raise fail(f"no message {message_id} in the conversations of {workspace.user}")


def open_first(summaries: list[ConversationSummary], moment: float) -> list[ConversationSummary]:
    """The conversations open at moment first, each part in its order."""
    return sorted(
        summaries,
        key=lambda s: not (s.created - CLOCK_SLACK <= moment <= s.updated + CLOCK_SLACK),
    )


def made_at(message_id: str) -> float | None:
    from ulid import ULID

    try:
        return ULID.from_str(message_id).timestamp
    except ValueError:
        return None


@contextlib.contextmanager
def consent_asked(log: FeedbackLog) -> Iterator[None]:
    """Around recording the first feedback a user gives: ask first whether it may train
    models (on the terminal, even when stdin is piped), and keep the answer. With no
    terminal to ask on nothing is kept, the feedback is recorded as not for training,
    and once it is recorded the user is told how to say yes."""
    unasked = log.consent() is None and not asked_on_terminal(log)
    yield
    if unasked:
        warn(
            "feedback is kept but not used for training; `chatapp feedback consent yes` "
            "allows it for feedback given from then on"
        )


def asked_on_terminal(log: FeedbackLog) -> bool:
    """Ask the consent question on the terminal, if there is one; keep the answer."""
    terminal = open_terminal()
    if terminal is None:
        return False
    with terminal:
        sys.stderr.write(CONSENT_QUESTION)
        sys.stderr.flush()
        answer = terminal.readline()
    if answer:  # "": the terminal was closed, no answer
        log.set_consent(ANSWERS.get(answer.strip().lower(), False))
    return True


# -- feedback consent, stats --------------------------------------------------------------


@feedback_app.command()
def consent(
    answer: Annotated[
        str | None, typer.Argument(metavar="[yes|no]", help="Your answer (none: show it).")
    ] = None,
    user: UserOption = None,
) -> None:
    """May your feedback be used to train models (be exported)? yes or no; none: show it."""
    log = workspace_for(settings_or_exit(user)).feedback.log
    if answer is None:
        typer.echo(consent_line(log.consent()))
        return
    if answer.lower() not in ANSWERS:
        raise fail(f"the answer is yes or no, not {answer!r}", EXIT_USAGE)
    training = ANSWERS[answer.lower()]
    log.set_consent(training)
    if not training:
        typer.echo("no: your feedback is kept, and never exported for training")
        return
    earlier = sum(not event.consent for event in log.events())
    kept = f" ({earlier} earlier event{'' if earlier == 1 else 's'} stay held back)"
    typer.echo(f"yes: feedback you give from now on may be exported{kept if earlier else ''}")


def consent_line(training: bool | None) -> str:
    if training is None:
        return "not asked yet: feedback is kept, not exported (`chatapp feedback consent yes`)"
    if training:
        return "yes: feedback given while this is yes may be exported for training"
    return "no: feedback is kept, and never exported for training"


@feedback_app.command()
def stats(as_json: JsonOutput = False, user: UserOption = None) -> None:
    """What your feedback adds up to: labels, models, templates, reasons, pairs.

    Also how much of it is held back from training (no consent)."""
    import dataclasses
    import json

    log = workspace_for(settings_or_exit(user)).feedback.log
    training = log.consent()
    counts = log.stats()
    held_back = counts.without_consent if training else counts.events
    if as_json:
        data = dataclasses.asdict(counts) | {"consent": training, "held_back": held_back}
        typer.echo(json.dumps(data, ensure_ascii=False))
    else:
        typer.echo("\n".join(stats_lines(counts, training, held_back)))


def stats_lines(counts: FeedbackStats, training: bool | None, held_back: int) -> list[str]:
    from chatapp.terminal_text import strip_controls

    said = {None: "not asked yet", True: "yes", False: "no"}[training]
    lines = [f"{counts.events} event{'' if counts.events == 1 else 's'}; training use: {said}"]
    if counts.by_label:
        lines.append(f"labels: {tally(counts.by_label)}")
    if counts.by_reason:
        lines.append(f"reasons: {tally(counts.by_reason)}")
    for title, table in (("models", counts.by_model), ("templates", counts.by_template)):
        if table:
            lines.append(f"{title}:")
            lines.extend(f"  {strip_controls(name)}: {tally(row)}" for name, row in table.items())
    lines.append(f"preference pairs: {counts.dpo_pairs}")
    lines.append(f"held back from training (no consent): {held_back}")
    return lines


def tally(counts: dict[str, int]) -> str:
    return ", ".join(f"{label} {count}" for label, count in counts.items())


# -- export -------------------------------------------------------------------------------


@app.command("export")
def export_data(
    format: Annotated[
        str,
        typer.Option(
            "--format", "-f", metavar="raw|dpo|kto|sft|openai", help="What the rows are for."
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE.jsonl",
            help="The file to write (replaced); its dataset card goes beside it (FILE.md).",
        ),
    ],
    user: UserOption = None,
    all_users: Annotated[
        bool, typer.Option("--all-users", help="The feedback of every user here.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="YYYY-MM-DD", help="Only feedback from this day on."),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Only replies from this model.")
    ] = None,
    template: Annotated[
        str | None,
        typer.Option("--template", "-t", help="Only replies to questions from this template."),
    ] = None,
    no_redact: Annotated[
        bool,
        typer.Option("--no-redact", help="Keep e-mail addresses, keys, phone numbers, paths."),
    ] = False,
    with_memories: Annotated[
        bool, typer.Option("--with-memories", help="Keep saved memories in the prompts.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Write a KTO set whose labels are all one value.")
    ] = False,
) -> None:
    """Write feedback as a training data set, with a dataset card beside it.

    Only feedback users said yes to training use for; one JSON object a line. User names
    are hashed, personal data redacted; the file is written as the log is read, a month
    at a time, and replaces FILE only once it is whole."""
    from chatapp.core.feedback.card import card_path
    from chatapp.core.feedback.export import (
        ExportFormat,
        OneSidedKto,
        export,
        export_key_for,
        write_export,
    )

    kind = export_format(format)
    start = parse_since(since) if since is not None else None
    if user is not None and all_users:
        raise fail("--user or --all-users, not both", EXIT_USAGE)
    settings = settings_or_exit(user)
    check_card_place(card_path(output))
    result = export(
        feedback_of(settings, all_users, start),
        kind,
        key=export_key_for(settings.data_dir) if kind is ExportFormat.RAW else None,
        redact=not no_redact,
        include_memories=with_memories,
        force=force,
        since=start,
        model=model,
        template=template,
    )
    try:
        card = write_export(result, output)
    except OneSidedKto as error:
        raise fail(f"{error} with --force") from None
    typer.echo(result.report.summary())
    typer.echo(f"wrote {output}; dataset card: {card}")
    if result.report.held_back and not result.report.rows:
        warn("only feedback given while `chatapp feedback consent` is yes is exported")


def export_format(name: str) -> ExportFormat:
    """The ExportFormat named; another name is a usage error listing them."""
    from chatapp.core.feedback.export import ExportFormat, UnknownFormat

    try:
        return ExportFormat(name.lower())
    except ValueError:
        raise fail(str(UnknownFormat(name)), EXIT_USAGE) from None


def parse_since(text: str) -> float:
    """--since YYYY-MM-DD (or a full ISO date and time) as a timestamp; local time
    unless it says otherwise."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise fail(f"--since takes a date as YYYY-MM-DD, not {text!r}", EXIT_USAGE) from None


def check_card_place(card: Path) -> None:
    """The card is written beside the export: over an earlier card, never over a file
    the user did not name."""
    from chatapp.core.feedback.export import is_dataset_card

    if card.exists() and not is_dataset_card(card):
        raise fail(
            f"{card} exists and is not a chatapp dataset card: the card of this export "
            "would replace it; move it, or export to another name"
        )


def feedback_of(settings: Settings, all_users: bool, since: float | None) -> list[UserFeedback]:
    """Each user's feedback from since on (this user's, or everyone's), read a month at
    a time as it is exported."""
    from chatapp.core.feedback.export import feedback_of as read
    from chatapp.core.workspace import list_users

    names = [summary.name for summary in list_users(settings)] if all_users else [settings.user]
    return read(settings.data_dir, names, since)
