"""The `chatapp` command's frame: the one place a failure becomes one line (Commands),
the TUI when no command is given, and what every command shares."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer
from typer.core import TyperGroup
from typer.exceptions import Abort, Exit, TyperException

from chatapp.cli import open_tui
from chatapp.config import ConfigError, Settings, load_settings
from chatapp.core.errors import ChatappError

if TYPE_CHECKING:
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
        except (TyperException, Exit, Abort, BrokenPipeError, EOFError):
            raise  # usage errors, exits, a closed pipe: typer deals with them quietly
        except Exception as error:
            if ctx.params.get("debug") and not isinstance(error, ChatappError):
                raise
            raise failure(error) from None


def failure(error: Exception) -> typer.Exit:
    """The one line on stderr a failure becomes, and the exit that ends the command: a
    ChatappError's message, else an internal error whose traceback goes to a file
    (unless CHATAPP_DEBUG is set: then it is raised, the traceback shown)."""
    if isinstance(error, ChatappError):
        return fail(str(error), exit_code(error))
    if os.environ.get("CHATAPP_DEBUG"):
        raise error
    where = write_traceback(error)
    from chatapp.core.text import first_line

    return fail(
        f"internal error: {type(error).__name__}: {first_line(error)} "
        f"(`chatapp --debug ...` shows the traceback; {where})"
    )


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

ModelOption = Annotated[str | None, typer.Option("--model", "-m", help="Configured model name.")]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object with text and usage.")
]
UserOption = Annotated[
    str | None,
    typer.Option(
        "--user", "-u", help="Whose conversations and memory (default: default_user, login)."
    ),
]
RawOption = Annotated[
    bool,
    typer.Option("--raw", help="Print the model's text as is, terminal control sequences too."),
]


def fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    warn(message)
    return typer.Exit(code)


def open_terminal() -> TextIO | None:
    """The user's terminal for a question (even when stdin is piped); None without one.
    The caller closes it."""
    try:
        return open("/dev/tty", encoding="utf-8")  # noqa: SIM115
    except OSError:
        return None


def warn(message: str) -> None:
    """One line on stderr; a server's words in it cannot drive the terminal either."""
    from chatapp.terminal_text import strip_controls

    sys.stderr.write(f"chatapp: {strip_controls(message)}\n")


def settings_or_exit(user: str | None = None) -> Settings:
    """The settings, for user (--user) if given; a bad config file is a ConfigError, one
    line and exit 2 (Commands)."""
    return load_settings(user=user)


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
    user: UserOption = None,
) -> None:
    """With no command, open the chat TUI."""
    if ctx.invoked_subcommand is not None:
        return
    code = open_tui(model, user)
    if code:
        raise typer.Exit(code)


def check_model(settings: Settings, name: str) -> None:
    """An unknown model name is a ConfigError naming the known ones."""
    settings.model(name)
