"""The `chatapp` command: the TUI by default, and scriptable subcommands over the same core."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from chatapp.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from chatapp.core.session import ChatSession, Turn
    from chatapp.core.workspace import Workspace

app = typer.Typer(
    name="chatapp",
    help="A chat assistant that lives in the terminal.",
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Where the config file is and what it says.")
app.add_typer(config_app, name="config")

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    typer.echo(f"chatapp: {message}", err=True)
    return typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as error:
        raise fail(str(error), EXIT_USAGE) from None


def workspace_for(settings: Settings) -> Workspace:
    from chatapp.core.errors import ChatappError
    from chatapp.core.workspace import Workspace

    try:
        return Workspace(settings)
    except ChatappError as error:
        raise fail(str(error), EXIT_USAGE) from None


@app.callback()
def main_callback(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model to start with.")] = None,
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
    try:
        settings.model(name)
    except ConfigError as error:
        raise fail(str(error), EXIT_USAGE) from None


# -- ask / regenerate ---------------------------------------------------------------------


def read_question(question: str | None) -> str:
    """The question, with piped stdin as the input (or appended to the question)."""
    piped = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    if question and piped.strip():
        return f"{question}\n\n{piped.rstrip()}"
    text = question or piped
    if not text.strip():
        raise fail("nothing to ask: give a question or pipe text in", EXIT_USAGE)
    return text


ModelOption = Annotated[str | None, typer.Option("--model", "-m", help="Configured model name.")]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object with text and usage.")
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
    json_out: JsonOption = False,
) -> None:
    """Ask a question and stream the answer to stdout."""
    settings = settings_or_exit()
    text = read_question(question)
    if model is not None:
        check_model(settings, model)
    if (continue_ or conversation) and no_save:
        raise fail("--no-save cannot continue a stored conversation", EXIT_USAGE)

    def start(workspace: Workspace) -> tuple[ChatSession, Turn]:
        from chatapp.core.session import default_params

        conversation_id = conversation or (last_conversation_id(workspace) if continue_ else None)
        if conversation_id is None:
            session = workspace.new_session(model, system=system, save=not no_save)
        else:
            session = workspace.open_session(conversation_id, model)
        params = default_params(session.model, temperature=temperature, max_tokens=max_tokens)
        return session, session.send(text, params)

    run_turn(settings, start, json_out=json_out)


@app.command()
def regenerate(
    conversation: Annotated[
        str | None, typer.Option("--conversation", help="Conversation id (default: the last).")
    ] = None,
    model: ModelOption = None,
    json_out: JsonOption = False,
) -> None:
    """Stream a new reply to the last question of a conversation (kept beside the old one)."""
    settings = settings_or_exit()
    if model is not None:
        check_model(settings, model)

    def start(workspace: Workspace) -> tuple[ChatSession, Turn]:
        session = workspace.open_session(conversation or last_conversation_id(workspace), model)
        return session, session.regenerate()

    run_turn(settings, start, json_out=json_out)


def last_conversation_id(workspace: Workspace) -> str:
    conversation_id = workspace.last_conversation_id()
    if conversation_id is None:
        raise fail("there is no conversation yet", EXIT_USAGE)
    return conversation_id


StartTurn = Callable[["Workspace"], "tuple[ChatSession, Turn]"]


def run_turn(settings: Settings, start: StartTurn, *, json_out: bool) -> None:
    """Open or create the session, start a turn with `start`, stream it, exit properly."""
    try:
        asyncio.run(_stream_turn(settings, start, json_out))
    except KeyboardInterrupt:
        # The reply was stopped and its partial text saved by the session.
        typer.echo("", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


async def _stream_turn(settings: Settings, start: StartTurn, json_out: bool) -> None:
    from chatapp.core.errors import ChatappError

    workspace = workspace_for(settings)
    try:
        session, turn = start(workspace)
        try:
            async for piece in turn:
                if not json_out:
                    sys.stdout.write(piece)
                    sys.stdout.flush()
        except ChatappError as error:
            if not json_out:
                sys.stdout.write("\n")
            raise fail(str(error)) from None
        if json_out:
            sys.stdout.write(turn_json(session, turn) + "\n")
        elif turn.text and not turn.text.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()
    except ChatappError as error:
        raise fail(str(error)) from None
    finally:
        # A new conversation's title is made here, after the answer is out.
        await workspace.aclose()


def turn_json(session: ChatSession, turn: Turn) -> str:
    import orjson

    message = turn.answer
    usage = turn.usage
    data = {
        "text": turn.text,
        "conversation_id": session.id,
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
    return orjson.dumps(data).decode()


# -- models, history, show, rm -------------------------------------------------------------


@app.command()
def models() -> None:
    """List configured models and whether each one can be reached now."""
    settings = settings_or_exit()
    results = asyncio.run(workspace_for(settings).check_models())
    for name, model in settings.models.items():
        mark = "*" if name == settings.default_model else " "
        typer.echo(f"{mark} {name:<16} {model.backend:<7} {results[name]}")
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

    from chatapp.core.errors import ChatappError

    workspace = workspace_for(settings_or_exit())
    try:
        summaries = workspace.list_conversations(search)
    except ChatappError as error:
        raise fail(str(error)) from None
    for summary in summaries[:limit]:
        when = datetime.datetime.fromtimestamp(summary.updated).strftime("%Y-%m-%d %H:%M")
        typer.echo(f"{summary.id}  {when}  {summary.message_count:>4} msgs  {summary.title}")


@app.command()
def show(conversation_id: Annotated[str, typer.Argument(help="Conversation id.")]) -> None:
    """Print one conversation (its visible branch) as Markdown."""
    from chatapp.core.errors import ChatappError

    workspace = workspace_for(settings_or_exit())
    try:
        typer.echo(workspace.markdown(conversation_id))
    except ChatappError as error:
        raise fail(str(error)) from None


@app.command()
def rm(conversation_id: Annotated[str, typer.Argument(help="Conversation id.")]) -> None:
    """Delete a conversation."""
    from chatapp.core.errors import ChatappError

    workspace = workspace_for(settings_or_exit())
    try:
        workspace.delete(conversation_id)
    except ChatappError as error:
        raise fail(str(error)) from None
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
