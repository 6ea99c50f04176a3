"""The `chatapp` command: the TUI by default, and scriptable subcommands over the same
core (`app.py` the frame and the error funnel, `turns.py` ask/regenerate, `stored.py`
the rest)."""

# Each adds its commands to app, in the order --help lists them.
from chatapp.cli import turns  # noqa: F401  # isort: skip
from chatapp.cli import stored  # noqa: F401  # isort: skip
from chatapp.cli import memory  # noqa: F401  # isort: skip
from chatapp.cli import templates  # noqa: F401  # isort: skip
from chatapp.cli import compare  # noqa: F401  # isort: skip
from chatapp.cli import feedback  # noqa: F401  # isort: skip
from chatapp.cli import leaderboard  # noqa: F401  # isort: skip
from chatapp.cli.app import app, main

__all__ = ["app", "main"]
