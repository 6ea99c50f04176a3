"""Long threads: Markdown far out of sight is folded, and shows again when scrolled to."""

from __future__ import annotations

from chatapp.ui.widgets.message_view import STREAM_CHUNK_CHARS

# Numbered paragraphs, so that what is on screen says where in the reply the view is.
LONG_REPLY = "\n\n".join(
    f"Paragraph {n}: the keeper climbed the stairs, trimmed the wick and watched the sea "
    "roll in under a low grey sky until the light came round again."
    for n in range(1, 121)
)


def folded(chat) -> list[bool]:
    return [body.folded for body in chat.screen.thread_view.bodies()]


async def open_stories(chat) -> None:
    """Open the stored conversation from the sidebar; it shows its end."""
    await chat.press("ctrl+f", "down", "enter")
    await chat.wait_for_text("Paragraph 120:")


async def unfold_everything(chat) -> None:
    """Show every folded body at once, as scrolling past each would."""
    for body in chat.screen.thread_view.bodies():
        body.unfold()
    await chat.pilot.pause()


async def test_a_long_streamed_reply_folds_what_is_out_of_sight_and_shows_it_on_scroll(
    open_chat, make_settings, scripted_server
):
    assert len(LONG_REPLY) > 4 * STREAM_CHUNK_CHARS
    config = scripted_server.config({"Tell the long story": [LONG_REPLY]})
    async with open_chat(make_settings(config)) as chat:
        await chat.send("Tell the long story")
        await chat.reply_finished()
        await chat.wait_for_text("Paragraph 120:")
        await chat.wait_until(lambda: any(folded(chat)), "the start of the reply to fold")
        assert not folded(chat)[-1], "the end of the reply, on screen, is folded"

        await chat.press("shift+tab")  # the reply, which scrolls the thread with its keys
        await chat.press("home")
        await chat.wait_for_text("Paragraph 1:")
        assert "Paragraph 120:" not in chat.text()
        await chat.wait_until(lambda: folded(chat)[-1], "the end of the reply to fold")

        await chat.press("end")
        await chat.wait_for_text("Paragraph 120:")
        assert chat.screen.thread_view.bodies()[-1].source.endswith("came round again.")


async def test_folding_keeps_the_thread_height_so_the_view_does_not_jump(
    open_chat, settings, store_conversation
):
    store_conversation("Stories", ["Tell me a story", LONG_REPLY] * 6)
    async with open_chat(settings) as chat:
        await open_stories(chat)
        view = chat.screen.thread_view
        await chat.wait_until(lambda: sum(folded(chat)) >= 4, "older replies to fold")
        height, scroll_y = view.virtual_size.height, view.scroll_y
        shown = chat.text()

        await unfold_everything(chat)
        assert view.virtual_size.height == height
        assert view.scroll_y == scroll_y
        assert chat.text() == shown


async def test_after_a_resize_scrolled_to_text_is_shown_at_the_new_width(
    open_chat, settings, store_conversation
):
    store_conversation("Stories", ["Tell me a story", LONG_REPLY] * 3)
    async with open_chat(settings) as chat:
        await open_stories(chat)
        await chat.wait_until(lambda: any(folded(chat)), "older replies to fold")

        await chat.pilot.resize_terminal(70, 30)
        await chat.pilot.pause()
        await chat.pilot.pause()
        await chat.wait_until(lambda: any(folded(chat)), "older replies to fold again")
        # Folded bodies keep heights measured at the new width: showing them all moves
        # nothing.
        view = chat.screen.thread_view
        height = view.virtual_size.height
        await unfold_everything(chat)
        assert view.virtual_size.height == height

        await chat.press("shift+tab", "home")
        await chat.wait_for_text("Tell me a story")
        await chat.wait_for_text("Paragraph 1:")
        await chat.press("end")
        await chat.wait_for_text("Paragraph 120:")
        assert view.scroll_y == view.max_scroll_y
