"""The `chatapp` command: the TUI by default, and scriptable subcommands over the same
core (`app.py` the frame and the error funnel, `turns.py` ask/regenerate, `stored.py`
the rest).

`chatapp` with no arguments opens the TUI without building the command parser: typer
and the commands' modules take longer to import than the first screen takes to draw.
Anything else goes through typer (`commands()`, also `chatapp.cli.app`).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING

from chatapp.core.errors import ChatappError

if TYPE_CHECKING:
    import typer

    from chatapp.cli.app import app

__all__ = ["app", "commands", "main", "open_tui"]

# Each adds its commands to app, in the order --help lists them.
COMMAND_MODULES = ("turns", "stored", "memory", "templates", "compare", "feedback", "leaderboard")


def __getattr__(name: str) -> object:
    # `app`, the typer app, is built when first asked for (importing its submodule
    # binds the name to the module, so commands() binds it again to the app).
    if name == "app":
        return commands()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def commands() -> typer.Typer:
    """The typer app with every command added."""
    global app
    for module in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{module}")
    from chatapp.cli.app import app

    return app


def main() -> None:
    """The console script: the TUI with no arguments, a command through typer else."""
    if sys.argv[1:]:
        commands()()
        return
    from chatapp.ui.gc_pacing import pause_for_start_up

    pause_for_start_up()
    try:
        code = open_tui()
    except KeyboardInterrupt:
        from chatapp.cli.app import EXIT_INTERRUPTED

        code = EXIT_INTERRUPTED
    except Exception as error:
        if os.environ.get("CHATAPP_DEBUG") and not isinstance(error, ChatappError):
            raise
        from chatapp.cli.app import failure

        code = failure(error).exit_code
    sys.exit(code)


def open_tui(model: str | None = None, user: str | None = None) -> int:
    """The chat TUI until the user quits; the exit status (not 0 after a crash, whose
    traceback Textual has shown). A bad config file or an unknown model name is a
    ConfigError before anything is drawn."""
    from chatapp.config import load_settings

    settings = load_settings(user=user)
    if model is not None:
        settings.model(model)  # an unknown name is a ConfigError naming the known ones
    # The TUI draws on the cores llama.cpp decodes on. OpenMP threads that spin at every
    # barrier get preempted by the drawing and stall (measured: ~5 instead of ~40 tok/s
    # beside a busy thread); sleeping ones do not. Read once, when llama.cpp loads, so set
    # before the model does. `ask` keeps the faster spinning default: nothing draws there.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from chatapp.core.workspace import Workspace
    from chatapp.ui.app import ChatApp

    tui = ChatApp(Workspace(settings), model_name=model)
    tui.run()
    return tui.return_code or 0
