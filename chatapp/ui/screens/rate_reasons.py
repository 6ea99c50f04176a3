"""Why a reply was good or bad: the reasons that go with the thumb, as chips to toggle,
and an optional comment. Enter or ctrl+s saves; Esc keeps the thumb as it was."""

from __future__ import annotations

from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from chatapp.core.feedback.records import DOWN_REASONS, MAX_COMMENT, UP_REASONS, Rating


class Chip(Static, can_focus=True):
    """One reason, ticked or not: space or a click toggles it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "tick", "Tick", show=False),
    ]

    chosen: reactive[bool] = reactive(False)

    def __init__(self, reason: str, chosen: bool = False) -> None:
        super().__init__(classes="chip", markup=False)
        self.reason = reason
        self.set_reactive(Chip.chosen, chosen)

    def render(self) -> str:
        return f"{'✓' if self.chosen else '·'} {self.reason}"

    def watch_chosen(self, chosen: bool) -> None:
        self.set_class(chosen, "-on")

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.action_tick()

    def action_tick(self) -> None:
        self.chosen = not self.chosen


class RateReasonsScreen(ModalScreen[Rating | None]):
    """Dismisses with the thumb, the ticked reasons and the comment; None on Esc (the
    caller keeps the thumb without reasons, or the rating as it was)."""

    CSS_PATH = "rate_reasons.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Skip", tooltip="Keep the thumb without reasons"),
        Binding("enter,ctrl+s", "save", "Save", tooltip="Save the reasons and the comment"),
    ]

    def __init__(self, thumb: int, earlier: Rating | None = None) -> None:
        super().__init__()
        self.thumb = thumb
        # The rating being changed: its reasons start ticked and its comment filled in.
        self.earlier = earlier if earlier is not None and earlier.thumb == thumb else None

    def compose(self) -> ComposeResult:
        reasons = UP_REASONS if self.thumb == 1 else DOWN_REASONS
        ticked = self.earlier.reasons if self.earlier is not None else ()
        question = "👍 What was good?" if self.thumb == 1 else "👎 What went wrong?"
        with Vertical(id="dialog"):
            yield Label(question, id="question", markup=False)
            with Grid(id="chips"):
                for reason in reasons:
                    yield Chip(reason, reason in ticked)
            yield Input(
                self.earlier.comment if self.earlier is not None else "",
                placeholder="A comment (optional)",
                max_length=MAX_COMMENT,
                id="comment",
            )
            yield Static(
                "space ticks a reason · enter or ctrl+s saves · esc skips",
                id="hint",
                markup=False,
            )
            with Horizontal(id="buttons"):
                yield Button("Save", id="save", variant="primary", compact=True)
                yield Button("Skip", id="skip", compact=True)

    def on_mount(self) -> None:
        self.query_one(Chip).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def action_save(self) -> None:
        reasons = tuple(chip.reason for chip in self.query(Chip) if chip.chosen)
        comment = self.query_one("#comment", Input).value
        self.dismiss(Rating(self.thumb, reasons, comment.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)
