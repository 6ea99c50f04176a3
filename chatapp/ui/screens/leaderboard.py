"""Models, or template versions, ranked by the user's pairwise choices: the table of
`chatapp feedback leaderboard`, with m and t to switch between the two.

The ranking is the core's (core/feedback/leaderboard.py); this screen reads the log in
a thread and shows what it gives."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.worker import Worker

from chatapp.core.feedback.leaderboard import METHOD, Grouping, Leaderboard, leaderboard
from chatapp.core.workspace import Workspace
from chatapp.ui.worker_failures import toast_failure

HINT = "m by model · t by template · Esc back"
NO_CHOICES = (
    "No choices yet.\n\n"
    "The leaderboard is made of the choices you make between replies:\n"
    "  · Compare prompts… (in the palette, ctrl+p): pick the best of 2-4 replies,\n"
    "  · on a reply with other versions (ctrl+r regenerates): prefer this one,\n"
    "  · or run  chatapp compare  or  chatapp prefer  in a shell."
)


class LeaderboardScreen(Screen[None]):
    """The standings of the workspace user's choices, by model or by template version."""

    CSS_PATH = "leaderboard.tcss"
    AUTO_FOCUS = "#standings"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", tooltip="Back to where you were"),
        Binding("m", "rank_models", "By model", tooltip="Rank the models"),
        Binding("t", "rank_templates", "By template", tooltip="Rank the template versions"),
    ]

    by: reactive[Grouping] = reactive(Grouping.MODEL, init=False)
    """What is ranked: models or template versions."""

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.board: Leaderboard | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="summary")
        yield Static(HINT, id="hint", markup=False)
        yield DataTable(id="standings", cursor_type="row", zebra_stripes=True)
        yield Static("", id="empty", markup=False)
        yield Static(METHOD, id="method", markup=False)

    @property
    def standings(self) -> DataTable[Text]:
        return self.query_one("#standings", DataTable)

    def on_mount(self) -> None:
        self.load()

    def watch_by(self) -> None:
        self.load()

    @work(exclusive=True, group="leaderboard", exit_on_error=False)
    async def load(self) -> None:
        self.show(await asyncio.to_thread(self.read, self.by))

    def read(self, by: Grouping) -> Leaderboard:
        """In a thread: the log is read from its files."""
        return leaderboard(self.workspace.feedback.log.events(), by)

    def show(self, board: Leaderboard) -> None:
        self.board = board
        table = self.standings
        table.clear(columns=True)
        table.add_columns(*board.headers)
        for rank, entity, *numbers in board.table():
            cells = [Text(rank, justify="right"), Text(entity)]
            table.add_row(*cells, *(Text(cell, justify="right") for cell in numbers), key=entity)
        counted = f" · {board.summary()}" if board.choices else ""
        self.query_one("#summary", Static).update(
            Content.assemble(("Leaderboard", "bold"), f" · by {board.by}{counted}")
        )
        self.query_one("#empty", Static).update(empty_text(board))
        self.set_class(not board.standings, "-empty")

    def action_rank_models(self) -> None:
        self.by = Grouping.MODEL

    def action_rank_templates(self) -> None:
        self.by = Grouping.TEMPLATE

    def action_close(self) -> None:
        self.dismiss()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        toast_failure(self, event)

    def commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Rank models", "The leaderboard by model (m)", self.action_rank_models)
        yield SystemCommand(
            "Rank template versions", "The leaderboard by template (t)", self.action_rank_templates
        )
        yield SystemCommand("Close leaderboard", "Back to where you were (esc)", self.action_close)


def empty_text(board: Leaderboard) -> str:
    if not board.choices:
        return NO_CHOICES
    other = Grouping.TEMPLATE if board.by == Grouping.MODEL else Grouping.MODEL
    return (
        f"No choice of yours is between different {board.by}s yet"
        f" ({board.choices} between replies of one {board.by}).\n\n"
        f"Press {str(other)[0]} to rank the {other}s."
    )
