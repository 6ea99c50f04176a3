"""Feedback on replies from the chat screen: a thumb and why, changed and taken back, shown
again after a restart; the training question asked once; one version preferred to
another; a reply corrected into a version written by the user."""

from __future__ import annotations

from textual.widgets import Input, TextArea

from chatapp.core.feedback.records import Rating
from chatapp.ui.screens.consent import ConsentScreen
from chatapp.ui.screens.correct_reply import CorrectReplyScreen
from chatapp.ui.screens.rate_reasons import Chip, RateReasonsScreen
from chatapp.ui.widgets.rating_bar import RatingBar
from tests.ui.test_chat_branches import focus_reply

CAPITALS = {"Capital of Australia?": ["Sydney.", "Canberra."]}


async def ask(chat, question: str = "Capital of Australia?") -> None:
    await chat.send(question)
    await chat.reply_finished()


async def dialog(chat, kind: type) -> None:
    await chat.wait_until(lambda: isinstance(chat.app.screen, kind), kind.__name__)


async def closed(chat, kind: type) -> None:
    await chat.wait_until(lambda: not isinstance(chat.app.screen, kind), f"{kind.__name__} gone")


async def tick(chat, *reasons: str) -> None:
    """Tick reasons in the open reasons dialog, with Tab and space as a user would."""
    chips = list(chat.app.screen.query(Chip))
    for chip in chips:
        if chip.reason in reasons:
            await chat.wait_until(lambda chip=chip: chat.app.focused is chip, chip.reason)
            await chat.press("space")
        await chat.press("tab")


def bar_of(chat) -> RatingBar:
    return chat.views()[-1].query_one(RatingBar)


def stored_ratings(chat) -> dict[str, Rating]:
    session = chat.screen.session
    return chat.app.workspace.feedback.ratings(session.id)


async def shows(chat, rating: Rating | None) -> None:
    await chat.wait_until(lambda: bar_of(chat).rating == rating, f"the bar showing {rating}")


async def test_a_thumb_with_reasons_and_a_comment_is_kept_and_the_latest_counts(
    open_chat, make_settings, scripted_server
):
    async with open_chat(make_settings(scripted_server.config(CAPITALS))) as chat:
        await ask(chat)
        reply = chat.views()[-1].message
        await focus_reply(chat)

        await chat.press("+")
        await dialog(chat, RateReasonsScreen)
        assert "What was good?" in chat.text()
        await tick(chat, "accurate", "clear")
        assert chat.app.focused is chat.app.screen.query_one("#comment", Input)
        await chat.type("Short and right")
        await chat.press("enter")

        # The first rating asks about training, once.
        await dialog(chat, ConsentScreen)
        assert "May your ratings be used to train models?" in chat.text()
        await chat.press("y")
        wanted = Rating(1, ("accurate", "clear"), "Short and right")
        await shows(chat, wanted)
        assert stored_ratings(chat) == {reply.id: wanted}
        assert chat.app.workspace.feedback.log.consent() is True
        line = chat.line_of(bar_of(chat))
        assert "accurate, clear" in line and "✎ “Short and right”" in line

        # Changed to a thumb down: no second question, and the latest rating counts.
        await chat.press("-")
        await dialog(chat, RateReasonsScreen)
        assert "What went wrong?" in chat.text()
        await tick(chat, "wrong facts")
        await chat.press("ctrl+s")
        await shows(chat, Rating(-1, ("wrong facts",)))
        assert stored_ratings(chat) == {reply.id: Rating(-1, ("wrong facts",))}
        assert "wrong facts" in chat.line_of(bar_of(chat))
        assert not any(isinstance(s, ConsentScreen) for s in chat.app.screen_stack)

        # 0 takes it back.
        await chat.press("0")
        await shows(chat, None)
        assert stored_ratings(chat) == {}


async def test_esc_keeps_the_thumb_without_reasons_and_clicks_rate_too(
    open_chat, make_settings, scripted_server
):
    async with open_chat(make_settings(scripted_server.config(CAPITALS))) as chat:
        await ask(chat)
        reply = chat.views()[-1].message

        await chat.pilot.click(".rating-bar .down")
        await dialog(chat, RateReasonsScreen)
        await chat.press("escape")
        await dialog(chat, ConsentScreen)
        await chat.press("n")
        await shows(chat, Rating(-1))
        assert stored_ratings(chat) == {reply.id: Rating(-1)}
        assert chat.app.workspace.feedback.log.consent() is False

        # Clicking the invitation opens the reasons of the same thumb.
        assert "say why…" in chat.line_of(bar_of(chat))
        await chat.pilot.click(".rating-bar .summary")
        await dialog(chat, RateReasonsScreen)
        await tick(chat, "too short")
        await chat.press("enter")
        await shows(chat, Rating(-1, ("too short",)))

        # ✕ takes it back.
        await chat.pilot.click(".rating-bar .remove")
        await shows(chat, None)
        assert stored_ratings(chat) == {}


async def test_a_rating_shows_again_after_a_restart_and_consent_is_not_asked_again(
    open_chat, make_settings, scripted_server
):
    settings = make_settings(scripted_server.config(CAPITALS))
    async with open_chat(settings) as chat:
        await ask(chat)
        conversation_id = chat.screen.session.id
        await focus_reply(chat)
        await chat.press("+")
        await dialog(chat, RateReasonsScreen)
        await tick(chat, "thorough")
        await chat.press("enter")
        await dialog(chat, ConsentScreen)
        await chat.press("y")
        await shows(chat, Rating(1, ("thorough",)))

    async with open_chat(settings) as chat:
        chat.screen.open_conversation(conversation_id)
        await chat.wait_until(lambda: chat.views(), "the conversation")
        await shows(chat, Rating(1, ("thorough",)))
        assert "thorough" in chat.line_of(bar_of(chat))
        assert bar_of(chat).query_one(".up").has_class("-on")

        await focus_reply(chat)
        await chat.press("-")
        await dialog(chat, RateReasonsScreen)
        await chat.press("enter")
        await shows(chat, Rating(-1))
        assert not any(isinstance(s, ConsentScreen) for s in chat.app.screen_stack)


async def test_p_prefers_the_version_on_screen_to_the_other(
    open_chat, make_settings, scripted_server
):
    async with open_chat(make_settings(scripted_server.config(CAPITALS))) as chat:
        await ask(chat)
        # One version alone: nothing to prefer it to, so no "prefer".
        assert "prefer this one" not in chat.text()
        await chat.press("ctrl+r")
        await chat.reply_finished()
        first, second = chat.screen.session.tree.siblings(chat.views()[-1].message.id)
        assert "prefer this one" in chat.line_of(bar_of(chat))

        await focus_reply(chat)
        await chat.press("p")
        await dialog(chat, ConsentScreen)
        await chat.press("y")
        await chat.wait_for_text("Preferred this reply to 1 other version")
        (choice,) = [e for e in chat.app.workspace.feedback.log.events() if e.type == "pairwise"]
        assert choice.choice is not None and choice.choice.preferred == second.id
        assert {c.message_id for c in choice.candidates} == {first.id, second.id}
        assert choice.consent is True


async def test_c_corrects_a_reply_into_a_version_written_by_the_user(
    open_chat, make_settings, scripted_server
):
    async with open_chat(make_settings(scripted_server.config(CAPITALS))) as chat:
        await ask(chat)
        original = chat.views()[-1].message
        assert original.content == "Sydney."
        await focus_reply(chat)

        await chat.press("c")
        await dialog(chat, CorrectReplyScreen)
        assert "Correct this reply" in chat.text()
        assert chat.app.screen.query_one(TextArea).text == "Sydney."
        await chat.press(*["backspace"] * len("Sydney."))
        await chat.type("Canberra, not Sydney.")
        await chat.press("ctrl+s")
        await closed(chat, CorrectReplyScreen)

        await chat.wait_until(
            lambda: chat.views()[-1].message.content == "Canberra, not Sydney.", "the correction"
        )
        reply = chat.views()[-1]
        assert reply.message.written_by == "user"
        assert "written by you" in chat.text_of(reply) and "‹ 2/2 ›" in chat.text_of(reply)
        # Your own words are not rated.
        assert not reply.query(RatingBar)
        stored = [m.content for m in chat.stored()]
        assert stored == ["Capital of Australia?", "Canberra, not Sydney."]

        def correction():
            events = chat.app.workspace.feedback.log.events()
            return next((e for e in events if e.type == "correction"), None)

        await chat.wait_until(correction, "the correction in the feedback log")
        event = correction()
        assert event.correction.original_id == original.id
        assert event.correction.corrected_id == reply.message.id
        assert event.candidates[1].written_by == "user"

        # The model's version is one key away.
        await chat.press("[")
        await chat.wait_until(lambda: "Sydney." in chat.text(), "the original reply")
        assert "written by you" not in chat.text()


async def test_esc_leaves_a_reply_uncorrected(open_chat, make_settings, scripted_server):
    async with open_chat(make_settings(scripted_server.config(CAPITALS))) as chat:
        await ask(chat)
        await focus_reply(chat)
        await chat.press("c")
        await dialog(chat, CorrectReplyScreen)
        await chat.type(" Or not.")
        await chat.press("escape")
        await closed(chat, CorrectReplyScreen)
        await chat.pilot.pause(0.1)
        assert len(chat.screen.session.tree.siblings(chat.views()[-1].message.id)) == 1
        assert [text for _, text in chat.thread()] == ["Capital of Australia?", "Sydney."]


async def test_an_incognito_chat_offers_no_rating(open_chat, make_settings, scripted_server):
    async with open_chat(make_settings(scripted_server.config(CAPITALS))) as chat:
        chat.screen.action_new_chat(incognito=True)
        await ask(chat)
        await chat.wait_until(lambda: not bar_of(chat).display, "the bar hidden")
        assert "👍" not in chat.text()
        await focus_reply(chat)
        await chat.press("+")
        await chat.pilot.pause(0.1)
        assert not isinstance(chat.app.screen, RateReasonsScreen)
        assert chat.app.workspace.feedback.log.events() == []
