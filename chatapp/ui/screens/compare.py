"""The compare screen: one input through 2 to 4 variants of a prompt, side by side and blind.

The run itself (shuffle, letters, samples, the choice) is chatapp.core.practice's; each
column draws itself (widgets/reply_column.py). The screen loads the models, starts runs,
takes the user's verdict and has the Workspace record it, in a thread."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.content import Content
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from chatapp.core.errors import ChatappError
from chatapp.core.practice import (
    LETTERS,
    MAX_REPEATS,
    ChoiceKind,
    PracticeRun,
    Variant,
    prompt_diff,
    variant_prompt,
)
from chatapp.core.workspace import Workspace
from chatapp.ui.screens.keys import KeySection, rows
from chatapp.ui.widgets.keys_footer import KeysFooter
from chatapp.ui.widgets.reply_column import ReplyColumn

# A column narrower than this is hard to read: past it, columns wrap two to a row.
MIN_COLUMN_WIDTH = 36
DIFF_STYLES = {"same": "", "removed": "strike $text-error", "added": "$text-success"}
VERDICTS = {"tie": "a tie", "both_bad": "all bad"}


class CompareScreen(Screen[None]):
    """Replies to one input from each variant, lettered A to D in a shuffled order; the
    variants stay hidden until the user picks the best, a tie, or all bad."""

    CSS_PATH = "compare.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "1",
            "choose('preferred', 'A')",
            "Best",
            key_display="1-4",
            tooltip="This column's reply is the best (1 is A, 2 is B...)",
        ),
        Binding("2", "choose('preferred', 'B')", show=False),
        Binding("3", "choose('preferred', 'C')", show=False),
        Binding("4", "choose('preferred', 'D')", show=False),
        Binding("t", "choose('tie')", "Tie", tooltip="The replies are as good as each other"),
        Binding("x", "choose('both_bad')", "All bad", tooltip="None of the replies is good"),
        Binding("r", "again", "Again", tooltip="Run the comparison again, shuffled anew"),
        Binding(
            "+",
            "repeats(1)",
            "More samples",
            show=False,
            tooltip="One more sample of each variant from the next run (up to 5)",
        ),
        Binding(
            "-",
            "repeats(-1)",
            "Fewer samples",
            show=False,
            tooltip="One sample fewer of each variant from the next run",
        ),
        Binding("d", "toggle_diff", "Diff", tooltip="Show or hide what differs between prompts"),
        Binding("D", "next_pair", "Next pair", show=False, tooltip="Diff the next pair of prompts"),
        Binding(
            "s",
            "save_variant",
            "Save",
            tooltip="After choosing: save the focused column's prompt as a template",
        ),
        Binding("escape", "close", "Close", tooltip="Stop the replies and go back"),
    ]

    class SaveVariant(Message):
        """The user wants this variant kept as a template (the app opens the dialog)."""

        def __init__(self, variant: Variant) -> None:
            super().__init__()
            self.variant = variant

    def __init__(
        self,
        workspace: Workspace,
        variants: Sequence[Variant],
        *,
        input_text: str,
        repeats: int = 1,
        rng: random.Random | None = None,
        last_key_at: Callable[[], float] = lambda: 0.0,
    ) -> None:
        super().__init__()
        self.workspace = workspace
        self.variants = list(variants)
        self.input_text = input_text
        # Samples of each variant in the next run (+ and - change it).
        self.repeats = repeats
        self.rng = rng or random.Random()
        self.last_key_at = last_key_at
        self.run: PracticeRun | None = None
        self.pair = 0

    def compose(self) -> ComposeResult:
        yield Static(Content.assemble(("Input ", "bold"), self.input_text), id="input")
        with Horizontal(id="bar"):
            yield Static("", id="status")
            yield Static("", id="repeats")
        yield Grid(id="columns")
        with VerticalScroll(id="diff"):
            yield Static("", id="diff-text")
        yield KeysFooter()

    @property
    def columns(self) -> list[ReplyColumn]:
        return list(self.query(ReplyColumn))

    def on_mount(self) -> None:
        self._show_repeats()
        self.start_run()

    def on_unmount(self) -> None:
        if self.run is not None:
            self.run.stop()

    # -- a run ----------------------------------------------------------------------------

    @work(exclusive=True, group="compare-run", exit_on_error=False)
    async def start_run(self) -> None:
        """Load what the variants need, then a new blind run into fresh columns."""
        if self.run is not None:
            self.run.stop()
        await self.query_one("#columns", Grid).remove_children()
        for name in dict.fromkeys(variant.model for variant in self.variants):
            if not self.workspace.models.ready(name):
                self.set_status(f"loading {name}…")
            await self.workspace.models.prepare(name)
        self.run = PracticeRun(
            self.variants, self.workspace.models.get, repeats=self.repeats, rng=self.rng
        ).start()
        self.set_status(self._streaming_text())
        grid = self.query_one("#columns", Grid)
        self._lay_out(self.size.width)
        await grid.mount_all(ReplyColumn(column, self.last_key_at) for column in self.run.columns)
        self._show_repeats()
        self._show_diff()
        self.columns[0].query_one(".replies").focus()

    def _streaming_text(self) -> str:
        assert self.run is not None
        count = len(self.run.columns)
        samples = len(self.run.columns[0].samples)
        each = f", {samples} samples each" if samples > 1 else ""
        return f"{count} replies, blind{each} · streaming…"

    @on(ReplyColumn.SampleEnded)
    def sample_ended(self) -> None:
        if self.run is not None and self.run.done and not self.run.revealed:
            count = len(self.run.columns)
            picks = f"1-{count} (A-{LETTERS[count - 1]})"
            self.set_status(f"Which is best? {picks} · t tie · x all bad")

    def action_again(self) -> None:
        self.start_run()

    def action_repeats(self, step: int) -> None:
        wanted = self.repeats + step
        if not 1 <= wanted <= MAX_REPEATS:
            self.notify(f"1 to {MAX_REPEATS} samples of each variant", severity="warning")
            return
        self.repeats = wanted
        self._show_repeats()

    def _show_repeats(self) -> None:
        shown = len(self.run.columns[0].samples) if self.run is not None else self.repeats
        text = f"samples ×{self.repeats} (+/-)"
        if shown != self.repeats:
            text = f"next run ×{self.repeats} (r)"
        self.query_one("#repeats", Static).update(text)

    def set_status(self, text: str | Content) -> None:
        self.query_one("#status", Static).update(text)

    # -- the verdict ----------------------------------------------------------------------

    def action_choose(self, kind: ChoiceKind, letter: str | None = None) -> None:
        run = self.run
        if run is None or not run.done:
            self.notify("Wait for every reply to end before choosing", severity="warning")
            return
        if run.revealed:
            self.notify("Already chosen: r runs the comparison again", severity="warning")
            return
        if letter is not None and letter not in run.letters:
            self.notify(f"There is no column {letter}", severity="warning")
            return
        choice = run.choose(kind, letter)
        for column in self.columns:
            column.reveal(choice)
            if column.letter == letter:
                column.query_one(".replies").focus()
        if letter is not None:
            label = run.column(letter).variant.label
            then = " · s saves it as a template · r again"
            self.set_status(Content.assemble(f"You preferred {letter}: ", (label, "bold"), then))
        else:
            self.set_status(f"You found them {VERDICTS[kind]} · r runs them again")
        self._show_diff()
        self.record(run)

    @work(thread=True, group="compare-record", exit_on_error=False)
    def record(self, run: PracticeRun) -> None:
        self.workspace.record_practice_choice(run)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a failed load, run or record is told: a ChatappError is a toast
        and the screen goes on; anything else is a bug and is raised."""
        worker = event.worker
        if worker.exit_on_error:
            return  # Textual itself stops the app for the others (the columns' painting)
        if event.state == WorkerState.SUCCESS and worker.group == "compare-record":
            self.notify("Choice saved", timeout=3)
        if event.state != WorkerState.ERROR:
            return
        if isinstance(worker.error, ChatappError):
            if worker.group == "compare-run":
                self.set_status("could not start")
            self.notify(str(worker.error), severity="error", timeout=10, markup=False)
        elif worker.error is not None:
            raise worker.error

    def action_save_variant(self) -> None:
        if self.run is None or not self.run.revealed:
            self.notify("Choose first: saving a variant would show which one it is")
            return
        focused = next((c for c in self.columns if c.has_focus_within), self.columns[0])
        self.post_message(self.SaveVariant(focused.column.variant))

    def action_close(self) -> None:
        if self.run is not None:
            self.run.stop()
        self.dismiss()

    # -- the prompt diff ------------------------------------------------------------------

    def action_toggle_diff(self) -> None:
        self.toggle_class("-diff")
        self._show_diff()

    def action_next_pair(self) -> None:
        pairs = diff_pairs(self.run, self.variants)
        if len(pairs) == 1:
            self.notify("Only two prompts: there is no other pair")
            return
        self.pair = (self.pair + 1) % len(pairs)
        self.add_class("-diff")
        self._show_diff()

    def _show_diff(self) -> None:
        if not self.has_class("-diff"):
            return
        pairs = diff_pairs(self.run, self.variants)
        self.pair %= len(pairs)
        (old_name, old), (new_name, new) = pairs[self.pair]
        more = f"  ({self.pair + 1} of {len(pairs)}, D next)" if len(pairs) > 1 else ""
        head = Content.assemble(
            ("Prompt diff ", "bold"),
            (old_name, "$text-error"),
            " → ",
            (new_name, "$text-success"),
            (more, "dim"),
            "\n",
        )
        self.query_one("#diff-text", Static).update(head + diff_content(old, new))

    # -- layout ---------------------------------------------------------------------------

    def on_resize(self, event: Resize) -> None:
        self._lay_out(event.size.width)

    def _lay_out(self, width: int) -> None:
        count = len(self.run.columns) if self.run is not None else 2
        per_row = count if width >= count * MIN_COLUMN_WIDTH else min(count, 2)
        self.query_one("#columns", Grid).styles.grid_size_columns = per_row

    # -- what the app asks of a screen: its palette commands and its keys ------------------

    def commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand(
            "Compare: tie", "The replies are as good (t)", partial(self.action_choose, "tie")
        )
        yield SystemCommand(
            "Compare: all bad", "None of them is good (x)", partial(self.action_choose, "both_bad")
        )
        yield SystemCommand("Compare again", "A new shuffled run (r)", self.action_again)
        yield SystemCommand("Prompt diff", "Show what differs (d)", self.action_toggle_diff)
        yield SystemCommand(
            "Save variant as template", "The focused column's (s)", self.action_save_variant
        )
        yield SystemCommand("Close compare", "Stop and go back (esc)", self.action_close)

    def key_sections(self) -> list[KeySection]:
        return [("In a column (Tab to the next)", rows(ReplyColumn.BINDINGS))]


def diff_pairs(
    run: PracticeRun | None, variants: Sequence[Variant]
) -> list[tuple[tuple[str, Variant], tuple[str, Variant]]]:
    """The pairs of prompts the diff pane can show. Before the choice they are named by
    the order they were given in, since naming their letters would unblind the columns."""
    if run is not None and run.revealed:
        named = [(column.letter, column.variant) for column in run.columns]
    else:
        named = [(f"prompt {number}", variant) for number, variant in enumerate(variants, 1)]
    return list(itertools.combinations(named, 2))


def diff_content(old: Variant, new: Variant) -> Content:
    """The word-level diff of two variants' prompts: removed words struck through in red,
    added ones in green. The prompts are text, never markup."""
    runs = prompt_diff(variant_prompt(old), variant_prompt(new))
    if all(op == "same" for op, _ in runs):
        return Content.assemble(
            ("The prompts are the same: the variants differ in model or sampling.\n\n", "dim"),
            variant_prompt(old),
        )
    return Content.assemble(*((text, DIFF_STYLES[op]) for op, text in runs))
