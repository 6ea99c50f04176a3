"""The chat screen's feedback on replies: a thumb and why (reasons, a comment), the one
question about training, preferring one version of a reply to the others, and
correcting a reply. The feedback itself is the Workspace's (core/feedback); every call
to it reads or writes files, so each runs in a thread, in a worker whose ChatappError
ChatScreen.on_worker_state_changed shows as a toast.

Ratings show again when a conversation is drawn: each RatingBar asks for its reply's
rating when mounted (RatingBar.Wanted); the open conversation's ratings are read once
and kept here, and what the user rates since is added to them."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual import on, work
from textual.screen import Screen

from chatapp.ui.widgets.message_view import MessageView
from chatapp.ui.widgets.rating_bar import RatingBar

# The records and the dialogs are imported when feedback is first given: not to start.
if TYPE_CHECKING:
    from chatapp.core.feedback.records import Rating
    from chatapp.core.models import Message
    from chatapp.core.session import ChatSession
    from chatapp.core.workspace import Workspace
    from chatapp.ui.widgets.thread_view import ThreadView


class FeedbackActions(Screen[None]):
    """Mixed into ChatScreen, which provides the rest (thread_view, session, versions...)."""

    workspace: Workspace
    session: ChatSession | None
    incognito: bool

    # The ratings of one conversation, as read and since recorded: (its id, by message id).
    _ratings: tuple[str, dict[str, Rating]] | None = None
    # The conversation whose ratings are being read, if any.
    _reading_ratings: str | None = None
    # Asked at most once a run: Esc leaves the question unanswered until the next run.
    _consent_asked = False

    if TYPE_CHECKING:  # ChatScreen's and the other mixins', found through its bases

        @property
        def thread_view(self) -> ThreadView: ...

        def versions(self, message: Message) -> tuple[int, int]: ...

        def update_context_status(self) -> None: ...

    # -- ratings on screen ----------------------------------------------------------------

    @on(RatingBar.Wanted)
    def rating_wanted(self, event: RatingBar.Wanted) -> None:
        """Set a bar just drawn from the conversation's ratings (read first if need be);
        an incognito chat keeps no feedback, so its replies show none."""
        event.stop()
        session = self.session
        if session is None:
            return
        if self.incognito:
            event.bar.display = False
            return
        if self._ratings is not None and self._ratings[0] == session.id:
            event.bar.rating = self._ratings[1].get(event.message_id)
        elif self._reading_ratings != session.id:
            self._reading_ratings = session.id
            self.read_ratings(session.id)

    @work(exclusive=True, group="ratings", exit_on_error=False)
    async def read_ratings(self, conversation_id: str) -> None:
        """Read a conversation's ratings once, then show them on every bar drawn."""
        try:
            ratings = await asyncio.to_thread(self.workspace.feedback.ratings, conversation_id)
        finally:
            if self._reading_ratings == conversation_id:
                self._reading_ratings = None
        self._ratings = (conversation_id, ratings)
        self.show_ratings()

    def show_ratings(self) -> None:
        """Set every rating bar of the thread from the ratings read for the open
        conversation (bars drawn later ask for theirs)."""
        session = self.session
        if session is None or self._ratings is None or self._ratings[0] != session.id:
            return
        ratings = self._ratings[1]
        for bar in self.thread_view.query(RatingBar):
            bar.rating = ratings.get(bar.message_id)

    # -- rating ---------------------------------------------------------------------------

    @on(RatingBar.Rated)
    def rated(self, event: RatingBar.Rated) -> None:
        event.stop()
        self.rate_reply(event.bar, event.thumb)

    @work(group="feedback", exit_on_error=False)
    async def rate_reply(self, bar: RatingBar, thumb: int | None) -> None:
        """A thumb, then why (Esc: the thumb alone, or the rating as it was), recorded
        after the training question the first time; None takes the rating back."""
        from chatapp.core.feedback.records import Rating
        from chatapp.ui.screens.rate_reasons import RateReasonsScreen

        session = self.session
        if session is None:
            return
        earlier = bar.rating
        rating: Rating | None = None
        if thumb is None and earlier is None:
            return
        if thumb is not None:
            rating = await self.app.push_screen_wait(RateReasonsScreen(thumb, earlier))
            if rating is None and earlier is not None and earlier.thumb == thumb:
                return
            rating = rating or Rating(thumb)
        await self.ask_consent_once()
        await asyncio.to_thread(self._record_rating, session.id, bar.message_id, rating)
        if self._ratings is not None and self._ratings[0] == session.id:
            if rating is None:
                self._ratings[1].pop(bar.message_id, None)
            else:
                self._ratings[1][bar.message_id] = rating
        if bar.is_mounted:
            bar.rating = rating

    def _record_rating(self, conversation_id: str, message_id: str, rating: Rating | None) -> None:
        feedback = self.workspace.feedback
        if rating is None:
            feedback.rate(conversation_id, message_id, None)
        else:
            feedback.rate(conversation_id, message_id, rating.thumb, rating.reasons, rating.comment)

    async def ask_consent_once(self) -> None:
        """The first time the user gives feedback: may it train models? The feedback is
        kept whatever the answer."""
        from chatapp.ui.screens.consent import ConsentScreen

        if self._consent_asked:
            return
        self._consent_asked = True
        log = self.workspace.feedback.log
        if await asyncio.to_thread(log.consent) is not None:
            return
        answer = await self.app.push_screen_wait(ConsentScreen())
        if answer is not None:
            await asyncio.to_thread(log.set_consent, answer)

    # -- preferring one version -----------------------------------------------------------

    @on(RatingBar.PreferRequested)
    def prefer_requested(self, event: RatingBar.PreferRequested) -> None:
        event.stop()
        self.prefer_reply(event.message_id)

    @work(group="feedback", exit_on_error=False)
    async def prefer_reply(self, message_id: str) -> None:
        session = self.session
        if session is None:
            return
        await self.ask_consent_once()
        event = await asyncio.to_thread(self.workspace.feedback.prefer, session.id, message_id)
        others = len(event.candidates) - 1
        noun = "version" if others == 1 else "versions"
        self.notify(f"Preferred this reply to {others} other {noun}")

    # -- correcting -----------------------------------------------------------------------

    @on(MessageView.CorrectionRequested)
    def correction_requested(self, event: MessageView.CorrectionRequested) -> None:
        event.stop()
        self.correct_reply(event.message)

    @work(group="feedback", exit_on_error=False)
    async def correct_reply(self, reply: Message) -> None:
        """Your version of a reply, kept beside it and shown in its place."""
        from chatapp.ui.screens.correct_reply import CorrectReplyScreen

        session = self.session
        if session is None:
            return
        if session.generating:
            self.notify("Still answering: press Esc to stop, then correct", severity="warning")
            return
        text = await self.app.push_screen_wait(CorrectReplyScreen(reply.content))
        if text is None:
            return
        corrected = await asyncio.to_thread(session.correct, reply.id, text)
        if self.session is not session:
            return
        await self.thread_view.show_version(session.thread, self.versions, corrected.id)
        self.update_context_status()
        self.notify("Your version is kept beside the reply: [ and ] switch between them")
