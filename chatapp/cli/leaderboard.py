"""`chatapp feedback leaderboard`: models, or template versions, ranked by the pairwise
choices of one user or of all (core/feedback/leaderboard.py does the ranking)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from chatapp.cli.app import EXIT_USAGE, UserOption, fail, settings_or_exit
from chatapp.cli.feedback import JsonOutput, feedback_app, feedback_of

if TYPE_CHECKING:
    from chatapp.core.feedback.leaderboard import Grouping, Leaderboard

NO_CHOICES = (
    "no choices yet: compare replies side by side with `chatapp compare`, or prefer one "
    "version of a regenerated reply with `chatapp prefer`"
)


@feedback_app.command("leaderboard")
def leaderboard_command(
    by: Annotated[
        str,
        typer.Option("--by", metavar="model|template", help="Rank models or template versions."),
    ] = "model",
    as_json: JsonOutput = False,
    user: UserOption = None,
    all_users: Annotated[
        bool, typer.Option("--all-users", help="The choices of every user here.")
    ] = False,
) -> None:
    """Models (or template versions) ranked by your pairwise choices, with 95% intervals.

    A Bradley–Terry fit of all choices at once: unlike Elo, the order of votes does not matter."""
    import json

    from chatapp.core.feedback.leaderboard import leaderboard

    grouping = grouping_named(by)
    if user is not None and all_users:
        raise fail("--user or --all-users, not both", EXIT_USAGE)
    found = feedback_of(settings_or_exit(user), all_users, None)
    board = leaderboard((event for each in found for event in each.events), grouping)
    if as_json:
        typer.echo(json.dumps(board.to_dict(), ensure_ascii=False))
    elif not board.choices:
        typer.echo(NO_CHOICES)
    elif not board.standings:
        typer.echo(
            f"no choice is between different {grouping}s yet"
            f" ({board.choices} between replies of one {grouping})"
        )
    else:
        typer.echo("\n".join(table_lines(board)))


def grouping_named(name: str) -> Grouping:
    """--by model or template; another name is a usage error."""
    from chatapp.core.feedback.leaderboard import Grouping

    try:
        return Grouping(name.lower())
    except ValueError:
        raise fail(f"--by takes model or template, not {name!r}", EXIT_USAGE) from None


def table_lines(board: Leaderboard) -> list[str]:
    """The table in aligned columns (names left, numbers right), then how it was made."""
    from chatapp.core.feedback.leaderboard import METHOD
    from chatapp.terminal_text import strip_controls

    rows = [board.headers, *board.table()]
    rows = [(rank, strip_controls(name), *numbers) for rank, name, *numbers in rows]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(width) if column == 1 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    return [*lines, board.summary(), METHOD]
