"""App-wide things: the keys page, the command palette, and what is remembered between runs."""

from __future__ import annotations

from chatapp.ui.screens.keys import KeysScreen


async def test_f1_shows_the_keys_and_closes_again(open_chat, settings):
    # Tall enough for the whole page: every key of the chat screen, the sidebar's last.
    async with open_chat(settings, size=(110, 60)) as chat:
        await chat.press("f1")
        await chat.wait_until(lambda: isinstance(chat.app.screen, KeysScreen), "the keys page")
        page = chat.text()
        for row in (
            "F1 ?  All the keys (this page)",
            "ctrl+r  A new reply to the last question; the old one stays",
            "ctrl+o  Switch the model for the next replies",
            "Esc  Stop the reply; its text is kept",
            "ctrl+z  Bring back the conversation just deleted",
            "Enter  Send",
            "ctrl+j shift+enter  New line",
            "e  Edit",
            "← [  Previous version",
            "F2 r  Rename",
            "ctrl+c  While a reply streams: stop it, as Esc does",
            "F3  See, search, edit and undo what is remembered",
        ):
            assert row in page, row
        await chat.press("f1")
        await chat.wait_until(lambda: not isinstance(chat.app.screen, KeysScreen), "it to close")
        assert chat.app.focused is chat.screen.prompt


async def test_question_mark_types_in_the_box_but_opens_keys_elsewhere(
    open_chat, make_settings, scripted_server
):
    async with open_chat(make_settings(scripted_server.config())) as chat:
        await chat.type("Why?")
        assert chat.draft == "Why?"
        assert not isinstance(chat.app.screen, KeysScreen)
        await chat.press("enter")
        await chat.reply_finished()

        await chat.press("shift+tab")
        assert chat.app.focused is chat.views()[-1]
        await chat.press("?")
        await chat.wait_until(lambda: isinstance(chat.app.screen, KeysScreen), "the keys page")
        await chat.press("escape")
        await chat.wait_until(lambda: not isinstance(chat.app.screen, KeysScreen), "it to close")


async def test_ctrl_p_lists_the_apps_commands_and_runs_them(open_chat, settings):
    # Tall enough for the whole list.
    async with open_chat(settings, size=(110, 60)) as chat:
        await chat.press("ctrl+p")
        await chat.wait_for_text("Search for commands")
        listed = chat.text()
        for command in (
            "New chat",
            "Regenerate",
            "Rename conversation",
            "Delete conversation",
            "Search conversations",
            "Copy last reply",
            "Show keys",
            "Memory",
            "Regenerate without memory",
            "New incognito chat",
        ):
            assert command in listed, command

        await chat.type("switch model")
        await chat.wait_for_text("Answer with another model (ctrl+o)")
        await chat.press("enter")
        await chat.wait_for_text("Answer with which model?")


async def test_the_palette_has_one_keys_command_the_keys_page(open_chat, settings):
    async with open_chat(settings) as chat:
        await chat.press("ctrl+p")
        await chat.type("keys")
        await chat.wait_for_text("All key bindings (F1)")
        # Textual's own "Keys" (a side panel) would be a second, different answer.
        assert "Show help for the focused widget" not in chat.text()
        await chat.press("enter")
        await chat.wait_until(lambda: isinstance(chat.app.screen, KeysScreen), "the keys page")


async def test_the_theme_chosen_is_there_after_a_restart(open_chat, settings):
    async with open_chat(settings) as chat:
        assert chat.app.theme != "nord"
        await chat.press("ctrl+p")
        await chat.type("theme")
        await chat.wait_for_text("Change the current theme")
        await chat.press("enter")
        await chat.type("nord")
        await chat.wait_for_text("nord")
        await chat.press("enter")
        await chat.wait_until(lambda: chat.app.theme == "nord", "the theme to change")

    async with open_chat(settings) as chat:
        assert chat.app.theme == "nord"


async def test_the_unsent_draft_is_there_after_a_restart(open_chat, settings):
    async with open_chat(settings) as chat:
        await chat.type("half a thought")
        await chat.press("ctrl+j")
        await chat.type("and a second line")

    async with open_chat(settings) as chat:
        assert chat.draft == "half a thought\nand a second line"
        assert "half a thought" in chat.text()
        await chat.type(", finished")
        assert chat.draft.endswith("second line, finished")


async def test_a_hidden_sidebar_stays_hidden_after_a_restart(open_chat, settings):
    async with open_chat(settings) as chat:
        assert "Search conversations" in chat.text()
        await chat.press("ctrl+b")
        assert "Search conversations" not in chat.text()

    async with open_chat(settings) as chat:
        assert "Search conversations" not in chat.text()
        await chat.press("ctrl+f")
        assert "Search conversations" in chat.text()
