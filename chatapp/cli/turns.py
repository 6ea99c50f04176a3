"""`chatapp ask` and `chatapp regenerate`: one turn, streamed to stdout (or one JSON
object), its failures one line."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chatapp.cli.app import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    JsonOption,
    ModelOption,
    RawOption,
    UserOption,
    app,
    check_model,
    exit_code,
    fail,
    settings_or_exit,
    warn,
    workspace_for,
)
from chatapp.config import Settings
from chatapp.core.errors import ChatappError

if TYPE_CHECKING:
    from chatapp.core.session import ChatSession, Turn
    from chatapp.core.templates import Template
    from chatapp.core.workspace import Workspace


def read_input(question: str | None, *, required: bool = True) -> tuple[str, str]:
    """The question argument and the piped stdin (either may be empty, not both when
    required). A terminal on stdin is never read: nothing waits for typing."""
    from chatapp.core.text import is_blank

    piped = "" if sys.stdin is None or sys.stdin.isatty() else read_piped()
    if required and is_blank(question or "") and is_blank(piped):
        raise fail("nothing to ask: give a question or pipe text in", EXIT_USAGE)
    return question or "", piped


def parse_vars(pairs: list[str]) -> dict[str, str]:
    """--var key=value options as a dict; a pair without '=' is a usage error."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise fail(f"--var takes key=value, not {pair!r}", EXIT_USAGE)
        values[key.strip()] = value
    return values


def fill_main(template: Template, values: dict[str, str], text: str) -> dict[str, str]:
    """The values with the question (and piped text) as the template's main variable."""
    from chatapp.core.text import is_blank

    if is_blank(text):
        return values
    if template.main in values:
        raise fail(
            f"the input fills {template.main!r} of template {template.name!r}: "
            f"give it as text or as --var {template.main}=..., not both",
            EXIT_USAGE,
        )
    return {**values, template.main: text}


def read_piped() -> str:
    """Piped stdin as text; bytes that are not UTF-8 are a usage error, not a crash."""
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise fail(
            f"piped input is not UTF-8 text (byte {error.start:,} is {data[error.start]:#04x})",
            EXIT_USAGE,
        ) from None


def join_input(question: str, piped: str) -> str:
    """The question, with piped text after it."""
    from chatapp.core.text import is_blank

    if is_blank(piped):
        return question
    if is_blank(question):
        return piped
    return f"{question}\n\n{piped.rstrip()}"


QuestionArgument = Annotated[
    str | None, typer.Argument(help="The question; piped stdin is appended.")
]
SystemOption = Annotated[str | None, typer.Option("--system", "-s", help="System prompt.")]
ContinueOption = Annotated[
    bool, typer.Option("--continue", "-c", help="Continue the last conversation.")
]
ConversationOption = Annotated[
    str | None, typer.Option("--conversation", help="Conversation id (default: a new one).")
]
TemperatureOption = Annotated[float | None, typer.Option(min=0.0, help="Sampling temperature.")]
MaxTokensOption = Annotated[int | None, typer.Option(min=1, help="Longest reply, in tokens.")]
NoSaveOption = Annotated[bool, typer.Option("--no-save", help="Do not store the conversation.")]
TemplateOption = Annotated[
    str | None,
    typer.Option("--template", "-t", help="Fill this prompt template (see chatapp templates)."),
]
VarOption = Annotated[
    list[str] | None,
    typer.Option("--var", help="A template variable as key=value (repeatable)."),
]
TruncateOption = Annotated[
    bool,
    typer.Option("--truncate", help="Piped input too long for the model: keep its head and tail."),
]


@app.command()
def ask(
    question: QuestionArgument = None,
    model: ModelOption = None,
    system: SystemOption = None,
    continue_: ContinueOption = False,
    conversation: ConversationOption = None,
    temperature: TemperatureOption = None,
    max_tokens: MaxTokensOption = None,
    no_save: NoSaveOption = False,
    truncate: TruncateOption = False,
    json_out: JsonOption = False,
    raw: RawOption = False,
    template: TemplateOption = None,
    variables: VarOption = None,
    user: UserOption = None,
) -> None:
    """Ask a question and stream the answer to stdout.

    With -t NAME the question (or piped text) fills the template's main variable and
    --var key=value the others."""
    settings = settings_or_exit(user)
    values = parse_vars(variables or [])
    asked, piped = read_input(question, required=template is None)
    workspaces: list[Workspace] = []
    if model is not None:
        check_model(settings, model)
    if (continue_ or conversation) and no_save:
        raise fail("--no-save cannot continue a stored conversation", EXIT_USAGE)
    if truncate and not piped:
        raise fail("--truncate cuts piped input, and nothing was piped in", EXIT_USAGE)

    def open_session(workspace: Workspace) -> ChatSession:
        workspaces.append(workspace)
        if no_save:
            return workspace.new_session(model, system=system, save=False)
        workspace.check_storage()
        conversation_id = conversation or (continue_id(workspace) if continue_ else None)
        if conversation_id is None:
            return workspace.new_session(model, system=system)
        return workspace.open_session(conversation_id, model)

    def begin(session: ChatSession) -> Turn:
        from chatapp.core.backends.base import ContextOverflow
        from chatapp.core.context import chars_to_cut, cut_middle
        from chatapp.core.session import default_params

        chosen = workspaces[0].templates.get(template) if template is not None else None
        params = default_params(session.model, temperature=temperature, max_tokens=max_tokens)
        if chosen is not None and temperature is None and max_tokens is None:
            params = None  # the template's suggested sampling
        cut, budget = 0, 0
        while True:
            text = join_input(asked, cut_middle(piped, cut, "chatapp --truncate"))
            try:
                if chosen is None:
                    turn = session.send(text, params)
                else:
                    filled = fill_main(chosen, values, text)
                    rendered = workspaces[0].templates.render(chosen, filled)
                    turn = workspaces[0].send_template(session, chosen, rendered, params)
            except ContextOverflow as overflow:
                numbers = overflow.prompt_tokens, overflow.n_ctx, overflow.max_tokens
                if not truncate:
                    raise ContextOverflow(*numbers, overflow_advice(piped)) from None
                cut += chars_to_cut(overflow, len(text))
                if cut >= len(piped):
                    advice = "--truncate would cut all of the piped input; ask with less text"
                    raise ContextOverflow(*numbers, advice) from None
                budget = overflow.budget
                continue
            if cut:
                warn(
                    f"--truncate cut {cut:,} of {len(piped):,} characters from the middle "
                    f"of the input to fit {budget:,} tokens"
                )
            return turn

    run_turn(settings, open_session, begin, json_out=json_out, raw=raw, saving=not no_save)


def overflow_advice(piped: str) -> str:
    trim = "--truncate to keep the head and tail of the piped input" if piped else "less text"
    return (
        "keep fewer tokens for the reply with --max-tokens, pick a model with a bigger "
        f"window with --model, or ask with {trim}"
    )


@app.command()
def regenerate(
    conversation: Annotated[
        str | None, typer.Option("--conversation", help="Conversation id (default: the last).")
    ] = None,
    model: ModelOption = None,
    json_out: JsonOption = False,
    raw: RawOption = False,
    no_memory: Annotated[
        bool, typer.Option("--no-memory", help="Build the reply without any memory.")
    ] = False,
    user: UserOption = None,
) -> None:
    """Stream a new reply to the last question of a conversation (kept beside the old one)."""
    settings = settings_or_exit(user)
    if model is not None:
        check_model(settings, model)

    def open_session(workspace: Workspace) -> ChatSession:
        workspace.check_storage()
        return workspace.open_session(conversation or continue_id(workspace), model)

    run_turn(
        settings,
        open_session,
        lambda session: session.regenerate(memory=not no_memory),
        json_out=json_out,
        raw=raw,
        saving=True,
    )


def continue_id(workspace: Workspace) -> str:
    """The last conversation's id; says so when a newer one was damaged."""
    from chatapp.core.errors import SessionError

    conversation_id, lost = workspace.last_conversation()
    if conversation_id is None:
        damaged = f": the last one is damaged (moved aside to {lost[0]})" if lost else ""
        raise SessionError(f"there is no conversation to continue{damaged}")
    if lost:
        title = workspace.title(conversation_id)
        warn(
            f"the last conversation is damaged (moved aside to {lost[0]}); "
            f"continuing {title!r} ({conversation_id}) instead"
        )
    return conversation_id


OpenSession = Callable[["Workspace"], "ChatSession"]
BeginTurn = Callable[["ChatSession"], "Turn"]


def run_turn(
    settings: Settings,
    open_session: OpenSession,
    begin: BeginTurn,
    *,
    json_out: bool,
    raw: bool,
    saving: bool,
) -> None:
    """Open or create the session, make its model ready (a local one loads, its file
    checked, before anything is stored), begin the turn, stream it, exit properly.
    saving: the command means to store what it does (so it says when it cannot)."""
    try:
        asyncio.run(_stream_turn(settings, open_session, begin, json_out, raw, saving))
    except KeyboardInterrupt:
        # The reply was stopped and its partial text saved by the session.
        sys.stderr.write("\n")
        raise typer.Exit(EXIT_INTERRUPTED) from None


async def _stream_turn(
    settings: Settings,
    open_session: OpenSession,
    begin: BeginTurn,
    json_out: bool,
    raw: bool,
    saving: bool,
) -> None:
    from chatapp.core.backends.base import ContextOverflow
    from chatapp.core.errors import StoreError
    from chatapp.terminal_text import TerminalFilter

    workspace = workspace_for(settings, saving=saving)
    session: ChatSession | None = None
    turn: Turn | None = None
    screen = None if raw or json_out else TerminalFilter()

    def end_of_text() -> None:
        if json_out or turn is None:
            return
        tail = screen.flush() if screen else ""
        sys.stdout.write(tail + ("" if (turn.text or "\n").endswith("\n") else "\n"))

    async def write_out(turn: Turn) -> None:
        async for piece in turn:
            if not json_out:
                sys.stdout.write(screen.feed(piece) if screen else piece)
                sys.stdout.flush()

    try:
        session = open_session(workspace)
        await workspace.models.prepare(session.model.name)
        turn = begin(session)
        try:
            await write_out(turn)
        except StoreError:
            # The question could not be stored because the folder stopped taking writes
            # (saving is off now, and said): ask again, unsaved. Nothing was sent yet.
            if not turn.undone or workspace.saving_off is None:
                raise
            turn = begin(session)
            await write_out(turn)
    except ChatappError as error:
        if isinstance(error, ContextOverflow) and not error.max_tokens:
            # Found by the server or llama.cpp mid-turn, not before sending.
            error = ContextOverflow(error.prompt_tokens, error.n_ctx, 0, overflow_advice(""))
        end_of_text()
        if json_out:
            sys.stdout.write(turn_json(session, turn, error, workspace) + "\n")
        sys.stdout.flush()
        raise fail(str(error), exit_code(error)) from None
    except asyncio.CancelledError:
        # Ctrl-C: the turn stops and keeps what arrived; a script still gets its object.
        end_of_text()
        if json_out:
            sys.stdout.write(turn_json(session, turn, Interrupted(), workspace) + "\n")
        sys.stdout.flush()
        raise
    finally:
        # A new conversation's title is made here, after the answer is out.
        await workspace.aclose()
    end_of_text()
    if json_out:
        sys.stdout.write(turn_json(session, turn, None, workspace) + "\n")
    sys.stdout.flush()


def memories_of(ids: list[str], workspace: Workspace | None) -> list[dict[str, str]]:
    """The memories a reply used, as {"id", "text"}, in prompt order."""
    if not ids or workspace is None:
        return []
    by_id = {memory.id: memory for memory in workspace.memory.book.list()}
    return [{"id": i, "text": by_id[i].text} for i in ids if i in by_id]


class Interrupted(Exception):
    """Ctrl-C stopped the reply (for --json's error field)."""

    def __str__(self) -> str:
        return "stopped by Ctrl-C"


def turn_json(
    session: ChatSession | None,
    turn: Turn | None,
    error: Exception | None = None,
    workspace: Workspace | None = None,
) -> str:
    """The reply as one JSON object; with error, also what failed and whatever text came.
    Ids are null for what was never made; saved says whether it is on disk."""
    import orjson

    data: dict[str, Any] = {
        "text": turn.text if turn is not None else "",
        "conversation_id": session.id if session is not None else None,
        "message_id": None,
        "model": session.model.name if session is not None else None,
        "saved": session is not None and session.repo is not None and not session.is_new,
    }
    if turn is not None and turn.stored:
        message = turn.answer
        usage = turn.usage
        data |= {
            "message_id": message.id,
            "model": message.model,
            "finish_reason": message.finish_reason,
            "incomplete": message.incomplete,
            "usage": {
                "prompt_tokens": message.prompt_tokens,
                "completion_tokens": message.completion_tokens,
                "tokens_per_second": message.tokens_per_second,
                "time_to_first_token": usage.time_to_first_token if usage else None,
                "dropped_messages": turn.prompt.dropped,
            },
            "memories": memories_of(message.memories_used, workspace),
        }
    if error is not None:
        data["error"] = {"type": type(error).__name__, "message": str(error)}
    return orjson.dumps(data).decode()
