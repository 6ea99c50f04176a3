"""The chat screen's turns: drawing a reply as it streams, its end, and giving back a
question that could not be stored (into the box, or back into editing)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from textual.screen import Screen

from chatapp.core.models import FinishReason
from chatapp.ui.composer import Composer
from chatapp.ui.streaming import HeldFrames, StreamPainter
from chatapp.ui.widgets.message_view import MessageView
from chatapp.ui.widgets.prompt_input import PromptInput
from chatapp.ui.widgets.status_bar import StatusBar
from chatapp.ui.widgets.thread_view import ThreadView

if TYPE_CHECKING:
    from chatapp.core.turn import Turn

# The longest the screen waits for the first token before drawing the turn: drawing
# earlier would hold back (by the GIL) storing the question and starting the model.
UNDERWAY_WAIT = 0.1


class TurnDisplay(Screen[None]):
    """Mixed into ChatScreen, which provides the rest (render_thread, versions, ...)."""

    composer: Composer
    last_key_at: Callable[[], float]

    @property
    def thread_view(self) -> ThreadView:
        return self.query_one("#thread", ThreadView)

    @property
    def prompt(self) -> PromptInput:
        return self.query_one(PromptInput)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    def show_turn(self, turn: Turn, rerender: bool = False) -> None:
        # Start now, not when the worker first runs: the request leaves (or the local
        # model starts) while the screen is still clearing the box and mounting.
        painter = StreamPainter(turn.start(), self.last_key_at).start()
        # Until the reply's first text, or UNDERWAY_WAIT: the question is stored and the
        # model started without frames in their way; the cleared box, the question and
        # the start of the reply are then drawn together.
        held = HeldFrames(self.app, UNDERWAY_WAIT)
        self.run_worker(self._show_turn(turn, painter, held, rerender), exclusive=True, group="llm")

    async def _show_turn(
        self, turn: Turn, painter: StreamPainter, held: HeldFrames, rerender: bool
    ) -> None:
        # What to draw is decided now, before the reply can be stored into the thread.
        thread = [m for m in turn.session.thread if m.id != turn.answer.id]
        last = self.thread_view.last_view()
        shown = last.message.id if last is not None else None
        try:
            await painter.first_text(UNDERWAY_WAIT)
        finally:
            held.release()
        if turn.undone:
            await self.give_back(turn)
            return
        await self.thread_view.query_children(".welcome").remove()
        if rerender or shown not in (turn.question.id, turn.question.parent_id):
            await self.render_thread(thread)
        elif shown != turn.question.id:
            await self.thread_view.mount(self.thread_view.view_of(turn.question))
        # Empty: the text comes through the painter, even what arrived while waiting.
        view = MessageView(replace(turn.answer, content=""))
        await self.thread_view.mount(view)
        self.thread_view.anchor()
        self.status.state = "generating"
        self.status.dropped = turn.prompt.dropped
        self.status.context_used = turn.prompt.prompt_tokens
        view.start_stream()
        await painter.paint(view)
        await self.finish_turn(view, turn, painter.rate)

    async def finish_turn(self, view: MessageView, turn: Turn, rate: float | None) -> None:
        if turn.undone:
            await self.give_back(turn)
            return
        message = turn.answer
        target: MessageView | None = view
        if message.content or message.finish_reason != FinishReason.ERROR:
            await view.finish(message)
        else:
            # Nothing arrived: the turn ends at the question, and the error shows there.
            await view.remove()
            target = self.thread_view.last_view()
        if turn.error is not None:
            self.status.state = "error"
            if target is not None:
                target.show_error(str(turn.error), message.parent_id)
        else:
            self.status.state = "stopped" if message.incomplete else "idle"
        self.status.tokens_per_second = message.tokens_per_second or rate
        self.status.context_used = turn.prompt.prompt_tokens + (message.completion_tokens or 0)
        if turn.error is None and message.content:
            self.thread_view.refresh_versions(self.versions)
        self.refresh_sidebar()

    async def give_back(self, turn: Turn) -> None:
        """The turn could not be stored, so nothing was sent: the thread is shown as it was
        and the question goes back into the box (an edit, back into editing)."""
        await self.render_thread()
        self.status.state = "error"
        if not turn.new_question:
            self.notify(f"Not regenerated: {turn.error}", severity="error", markup=False)
            return
        tree = turn.session.tree
        if turn.kind == "edit" and turn.replaces in tree and self.composer.editing is None:
            self.begin_edit(tree.get(turn.replaces or ""), turn.question.content)
            self.notify_given_back(turn)
        else:
            self.put_back(turn)

    async def rescue(self, turn: Turn) -> None:
        """A conversation was left while its question was being stored: if storing it
        failed, its text comes back into the box here."""
        await turn.ended()
        if turn.undone and turn.new_question:
            self.put_back(turn)

    def put_back(self, turn: Turn) -> None:
        """The unsent question into the box, before anything typed since."""
        self.prompt.text = Composer.given_back(turn.question.content, self.prompt.text)
        self.prompt.move_cursor(self.prompt.document.end)
        self.notify_given_back(turn)

    def notify_given_back(self, turn: Turn) -> None:
        message = f"Not sent, your message is back in the input: {turn.error}"
        self.notify(message, severity="error", markup=False)
