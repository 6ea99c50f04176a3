"""The `chatapp` command: the TUI by default, and scriptable subcommands over the same core."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import Abort, Exit, TyperException

from chatapp.config import ConfigError, Settings, load_settings
from chatapp.core.errors import ChatappError

if TYPE_CHECKING:
    from chatapp.core.session import ChatSession, Turn
    from chatapp.core.workspace import Workspace

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class Commands(TyperGroup):
    """The one place a command's failure becomes one line on stderr.

    A ChatappError is the user's to act on: `chatapp: <message>`, exit 1 (2 for config).
    Anything else is our bug: one line that says so, the traceback in a log file in the
    data folder, and `--debug` shows it instead.
    """

    def invoke(self, ctx: Any) -> Any:  # a typer Context (its click is vendored)
        try:
            return super().invoke(ctx)
        except ChatappError as error:
            raise fail(str(error), exit_code(error)) from None
        except (TyperException, Exit, Abort, BrokenPipeError, EOFError):
            raise  # usage errors, exits, a closed pipe: typer deals with them quietly
        except Exception as error:
            if ctx.params.get("debug") or os.environ.get("CHATAPP_DEBUG"):
                raise
            where = write_traceback(error)
            from chatapp.core.text import first_line

            raise fail(
                f"internal error: {type(error).__name__}: {first_line(error)} "
                f"(`chatapp --debug ...` shows the traceback; {where})"
            ) from None


def exit_code(error: ChatappError) -> int:
    """2 for what the user set up wrong (a ConfigError: the config file, a model name, a
    user name, an unset key variable), 1 for everything else."""
    return EXIT_USAGE if isinstance(error, ConfigError) else EXIT_ERROR


def write_traceback(error: BaseException) -> str:
    """Write the traceback to a new 0600 file in the data folder's logs/ (or the temp
    folder when that cannot be written); say where, for the one-line message."""
    import tempfile
    import time
    import traceback

    text = "".join(traceback.format_exception(error))
    name = time.strftime("traceback-%Y%m%d-%H%M%S.log")
    try:
        folder = data_dir_for_logs() / "logs"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        path = str(folder / name)
    except OSError:
        try:
            fd, path = tempfile.mkstemp(prefix="chatapp-traceback-", suffix=".log")
        except OSError as reason:
            return f"not written: {reason.strerror or reason}"
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return f"written to {path}"


def data_dir_for_logs() -> Path:
    """The configured data folder; the default one when the config cannot be read."""
    from chatapp.config import default_data_dir

    try:
        return load_settings().data_dir
    except ConfigError:
        return Path(default_data_dir())


app = typer.Typer(
    name="chatapp",
    help="A chat assistant that lives in the terminal.",
    cls=Commands,
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Where the config file is and what it says.")
app.add_typer(config_app, name="config")


def fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    warn(message)
    return typer.Exit(code)


def warn(message: str) -> None:
    """One line on stderr; a server's words in it cannot drive the terminal either."""
    from chatapp.terminal_text import strip_controls

    sys.stderr.write(f"chatapp: {strip_controls(message)}\n")


def settings_or_exit() -> Settings:
    """The settings; a bad config file is a ConfigError, one line and exit 2 (Commands)."""
    return load_settings()


def workspace_for(settings: Settings, *, saving: bool = False) -> Workspace:
    """The user's workspace, telling stderr about damaged files it skips (and, for a
    command that writes, when it cannot)."""
    from chatapp.core.events import ConversationDamaged, Event, SavingStopped
    from chatapp.core.workspace import Workspace

    workspace = Workspace(settings)

    def tell(event: Event) -> None:
        if isinstance(event, ConversationDamaged):
            warn(event.message)
        elif isinstance(event, SavingStopped) and saving:
            warn(f"not saving: {event.reason}")

    workspace.events.subscribe(tell, ConversationDamaged, SavingStopped)
    return workspace


@app.callback()
def main_callback(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model to start with.")] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an internal error.")
    ] = False,
) -> None:
    """With no command, open the chat TUI."""
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_or_exit()
    if model is not None:
        check_model(settings, model)
    # The TUI draws on the cores llama.cpp decodes on. OpenMP threads that spin at every
    # barrier get preempted by the drawing and stall (measured: ~5 instead of ~40 tok/s
    # beside a busy thread); sleeping ones do not. Read once, when llama.cpp loads, so set
    # before the model does. `ask` keeps the faster spinning default: nothing draws there.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from chatapp.ui.app import ChatApp

    app = ChatApp(workspace_for(settings), model_name=model)
    app.run()
    # Textual has already shown the traceback of a crash; the exit status must say so too.
    if app.return_code:
        raise typer.Exit(app.return_code)


def check_model(settings: Settings, name: str) -> None:
    """An unknown model name is a ConfigError naming the known ones."""
    settings.model(name)


# -- ask / regenerate ---------------------------------------------------------------------


def read_input(question: str | None) -> tuple[str, str]:
    """The question argument and the piped stdin (either may be empty, not both)."""
    from chatapp.core.text import is_blank

    piped = "" if sys.stdin is None or sys.stdin.isatty() else read_piped()
    if is_blank(question or "") and is_blank(piped):
        raise fail("nothing to ask: give a question or pipe text in", EXIT_USAGE)
    return question or "", piped


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


ModelOption = Annotated[str | None, typer.Option("--model", "-m", help="Configured model name.")]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object with text and usage.")
]
RawOption = Annotated[
    bool,
    typer.Option("--raw", help="Print the model's text as is, terminal control sequences too."),
]
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
) -> None:
    """Ask a question and stream the answer to stdout."""
    settings = settings_or_exit()
    asked, piped = read_input(question)
    if model is not None:
        check_model(settings, model)
    if (continue_ or conversation) and no_save:
        raise fail("--no-save cannot continue a stored conversation", EXIT_USAGE)
    if truncate and not piped:
        raise fail("--truncate cuts piped input, and nothing was piped in", EXIT_USAGE)

    def open_session(workspace: Workspace) -> ChatSession:
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

        params = default_params(session.model, temperature=temperature, max_tokens=max_tokens)
        cut, budget = 0, 0
        while True:
            text = join_input(asked, cut_middle(piped, cut, "chatapp --truncate"))
            try:
                turn = session.send(text, params)
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
) -> None:
    """Stream a new reply to the last question of a conversation (kept beside the old one)."""
    settings = settings_or_exit()
    if model is not None:
        check_model(settings, model)

    def open_session(workspace: Workspace) -> ChatSession:
        workspace.check_storage()
        return workspace.open_session(conversation or continue_id(workspace), model)

    run_turn(
        settings,
        open_session,
        lambda session: session.regenerate(),
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
            sys.stdout.write(turn_json(session, turn, error) + "\n")
        sys.stdout.flush()
        raise fail(str(error), exit_code(error)) from None
    except asyncio.CancelledError:
        # Ctrl-C: the turn stops and keeps what arrived; a script still gets its object.
        end_of_text()
        if json_out:
            sys.stdout.write(turn_json(session, turn, Interrupted()) + "\n")
        sys.stdout.flush()
        raise
    finally:
        # A new conversation's title is made here, after the answer is out.
        await workspace.aclose()
    end_of_text()
    if json_out:
        sys.stdout.write(turn_json(session, turn) + "\n")
    sys.stdout.flush()


class Interrupted(Exception):
    """Ctrl-C stopped the reply (for --json's error field)."""

    def __str__(self) -> str:
        return "stopped by Ctrl-C"


def turn_json(
    session: ChatSession | None, turn: Turn | None, error: Exception | None = None
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
        }
    if error is not None:
        data["error"] = {"type": type(error).__name__, "message": str(error)}
    return orjson.dumps(data).decode()


# -- models, history, show, rm -------------------------------------------------------------


@app.command()
def models() -> None:
    """List configured models and whether each one can be reached now."""
    settings = settings_or_exit()
    results = asyncio.run(workspace_for(settings).check_models())
    from chatapp.terminal_text import strip_controls

    for name, model in settings.models.items():
        mark = "*" if name == settings.default_model else " "
        # A server's error text is in the status: it must not drive the terminal.
        typer.echo(f"{mark} {name:<16} {model.backend:<7} {strip_controls(results[name])}")
    typer.echo(
        "\nThe embedded SmolLM2-135M is tiny. For better answers add a [models.NAME] table to "
        f'{settings.config_path} with backend = "llama" and path = a bigger GGUF, or '
        'backend = "openai"/"ollama" with base_url = your server.'
    )


@app.command()
def history(
    search: Annotated[
        str | None, typer.Option("--search", "-s", help="Only conversations containing this text.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many to show.")] = 50,
) -> None:
    """List stored conversations, newest first."""
    import datetime

    from chatapp.terminal_text import strip_controls

    workspace = workspace_for(settings_or_exit())
    for summary in workspace.list_conversations(search)[:limit]:
        when = datetime.datetime.fromtimestamp(summary.updated).strftime("%Y-%m-%d %H:%M")
        title = strip_controls(summary.title)
        typer.echo(f"{summary.id}  {when}  {summary.message_count:>4} msgs  {title}")


@app.command()
def show(
    conversation_id: Annotated[str, typer.Argument(help="Conversation id.")],
    raw: RawOption = False,
) -> None:
    """Print one conversation (its visible branch) as Markdown."""
    from chatapp.terminal_text import strip_controls

    text = workspace_for(settings_or_exit()).markdown(conversation_id)
    # Not typer.echo: off a terminal it strips some escapes itself, and --raw means raw.
    sys.stdout.write(text if raw else strip_controls(text))


@app.command()
def rm(conversation_id: Annotated[str, typer.Argument(help="Conversation id.")]) -> None:
    """Delete a conversation (it stays in the trash for 30 days)."""
    workspace_for(settings_or_exit()).delete(conversation_id)
    typer.echo(f"deleted {conversation_id}")


# -- config -------------------------------------------------------------------------------


@config_app.command("path")
def config_path() -> None:
    """Print the config file's path (it need not exist)."""
    from chatapp.config import default_config_path

    typer.echo(str(default_config_path()))


@config_app.command("show")
def config_show() -> None:
    """Print the settings in effect, secrets redacted."""
    import orjson

    from chatapp.config import redacted

    settings = settings_or_exit()
    typer.echo(orjson.dumps(redacted(settings), option=orjson.OPT_INDENT_2).decode())


def main() -> None:
    app()
