"""One column of the compare screen: a letter, the reply of the sample on view as it
streams, and what it cost; the variant behind the letter shows once the user has chosen.

Every sample of the column streams through its own stream painter into its own Markdown,
so stepping between samples never stops one that is still streaming; only the one on
view is displayed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Markdown, Static

from chatapp.core.generation import Generation
from chatapp.core.models import FinishReason
from chatapp.core.practice import Choice, Column
from chatapp.ui.streaming import StreamPainter
from chatapp.ui.widgets.message_view import visible


class SampleBody(Markdown):
    """The reply of one sample: streamed in, then given its final text once."""

    def __init__(self, index: int) -> None:
        super().__init__(classes="sample")
        self.index = index

    async def write(self, text: str) -> None:
        if text:
            # Shielded: an append cancelled halfway (the worker is) can leave the Markdown
            # with blocks half mounted.
            await asyncio.shield(self.append(visible(text)))

    async def finish(self, text: str) -> None:
        final = visible(text)
        # Streamed blocks can lose fenced code on redraw: the final text goes in once.
        if self.source != final:
            await self.update(final)


class ReplyColumn(Vertical):
    """The samples of one lettered column. Focus it (Tab, or a click) to step through its
    samples with [ and ]."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Not in the footer: the column's own footer line shows them beside "sample 1/3".
        Binding(
            "[", "step(-1)", "Previous sample", show=False, tooltip="This column's previous sample"
        ),
        Binding("]", "step(1)", "Next sample", show=False, tooltip="This column's next sample"),
    ]

    shown_index: reactive[int] = reactive(0, init=False)
    """The sample on view, from 0."""

    class SampleEnded(Message):
        """A sample of the column has ended (finished, stopped or failed)."""

        def __init__(self, column: ReplyColumn, index: int) -> None:
            super().__init__()
            self.column = column
            self.index = index

        @property
        def control(self) -> ReplyColumn:
            return self.column

    def __init__(
        self,
        column: Column,
        last_key_at: Callable[[], float] = lambda: 0.0,
        *,
        timings: bool = True,
    ) -> None:
        """timings: show seconds and tokens/s (they vary from run to run; the token
        count does not)."""
        super().__init__(id=f"column-{column.letter}")
        self.column = column
        self.last_key_at = last_key_at
        self.timings = timings
        self.choice: Choice | None = None

    @property
    def letter(self) -> str:
        return self.column.letter

    @property
    def sample(self) -> Generation:
        """The sample on view."""
        return self.column.samples[self.shown_index]

    @property
    def bodies(self) -> list[SampleBody]:
        return list(self.query(SampleBody))

    def compose(self) -> ComposeResult:
        yield Static(self._header(), classes="header")
        with VerticalScroll(classes="replies"):
            for index in range(len(self.column.samples)):
                yield SampleBody(index)
        yield Static("", classes="error")
        yield Static(self._footer(), classes="footer")

    def on_mount(self) -> None:
        self._show_sample()
        for index, sample in enumerate(self.column.samples):
            # Started now: text is read (not lost) while the bodies are being laid out.
            painter = StreamPainter(sample, self.last_key_at).start()
            self.run_worker(self._paint(index, painter), group="llm")

    async def _paint(self, index: int, painter: StreamPainter) -> None:
        sample, body = self.column.samples[index], self.bodies[index]
        await sample.first_text()
        self._refresh_status()  # from "waiting…" to "streaming…"
        await painter.paint(body)
        await body.finish(sample.text)
        self._refresh_status()
        self.post_message(self.SampleEnded(self, index))

    # -- what it shows --------------------------------------------------------------------

    def reveal(self, choice: Choice) -> None:
        """The user has chosen: show the variant behind the letter, and the verdict."""
        self.choice = choice
        self.set_class(choice.letter == self.letter, "-preferred")
        self.set_class(choice.kind == "both_bad", "-both-bad")
        self.query_one(".header", Static).update(self._header())

    def _header(self) -> Content:
        parts: list[str | tuple[str, str]] = [(self.letter, "bold")]
        if self.choice is not None:
            parts.append(f" · {self.column.variant.label}")
            verdict = {"preferred": "★ best", "tie": "= tie", "both_bad": "✗ bad"}
            if self.choice.kind != "preferred" or self.choice.letter == self.letter:
                parts.append((f"  {verdict[self.choice.kind]}", "bold"))
        return Content.assemble(*parts)

    def _footer(self) -> Content:
        count = len(self.column.samples)
        line = Content.styled(figures(self.sample, self.timings), "dim")
        if count == 1:
            return line
        return Content.assemble(f"sample {self.shown_index + 1}/{count} ", ("[ ] · ", "dim"), line)

    def _show_sample(self) -> None:
        for body in self.bodies:
            body.display = body.index == self.shown_index
        self._refresh_status()

    def _refresh_status(self) -> None:
        error = self.sample.error
        banner = self.query_one(".error", Static)
        banner.update(Content(f"⚠ {error}") if error is not None else "")
        banner.display = error is not None
        self.query_one(".footer", Static).update(self._footer())

    def watch_shown_index(self) -> None:
        # The run records the sample on view when the user chooses.
        self.column.shown_index = self.shown_index
        self._show_sample()

    def action_step(self, step: int) -> None:
        count = len(self.column.samples)
        if count == 1:
            self.app.bell()
            return
        self.shown_index = (self.shown_index + step) % count


def figures(sample: Generation, timings: bool = True) -> str:
    """How a sample went: tokens, seconds and tokens/s once it has ended."""
    if not sample.done:
        return "streaming…" if sample.parts else "waiting…"
    usage = sample.usage
    parts: list[str] = []
    if usage is not None and usage.completion_tokens is not None:
        parts.append(f"{usage.completion_tokens} tokens")
    if timings and usage is not None:
        seconds = (usage.time_to_first_token or 0.0) + (usage.generation_seconds or 0.0)
        if seconds:
            parts.append(f"{seconds:.1f} s")
        if usage.tokens_per_second:
            parts.append(f"{usage.tokens_per_second:.1f} tok/s")
    notes = {
        FinishReason.LENGTH: "cut off at max_tokens",
        FinishReason.CANCELLED: "stopped",
        FinishReason.ERROR: "failed",
    }
    if sample.finish_reason in notes:
        parts.append(notes[sample.finish_reason])
    return " · ".join(parts) or "ended"
