"""The sidebar: finding, opening, renaming and deleting stored conversations."""

from __future__ import annotations

import time

from chatapp.core.titles import TITLE_PROMPT
from chatapp.ui.widgets.conversation_list import ConversationList


async def sidebar_lists(chat, *titles: str) -> None:
    await chat.wait_until(lambda: chat.sidebar() == list(titles), f"the sidebar to list {titles}")


async def select_in_sidebar(chat, title: str) -> None:
    """Move to the list (ctrl+f, then ↓) and down to the conversation titled title."""
    await chat.press("ctrl+f", "down")
    for _ in range(len(chat.sidebar())):
        if chat.screen.query_one(ConversationList).highlighted_id == chat.sidebar_id(title):
            return
        await chat.press("down")
    raise AssertionError(f"{title!r} is not in the sidebar")


async def test_typing_in_the_filter_finds_text_inside_messages(
    open_chat, settings, store_conversation
):
    store_conversation("Trip planning", ["Where should we go in May?", "Try Lisbon."])
    store_conversation("Cooking", ["How long do I boil an egg?", "About nine minutes."])
    store_conversation("Garden", ["When to plant tulips?", "In autumn, before frost."])
    async with open_chat(settings) as chat:
        await chat.wait_until(lambda: len(chat.sidebar()) == 3, "three conversations")

        await chat.press("ctrl+f")
        await chat.type("lisbon")
        await sidebar_lists(chat, "Trip planning")

        await chat.press(*["backspace"] * 6)
        await chat.type("EGG")
        await sidebar_lists(chat, "Cooking")

        await chat.press(*["backspace"] * 3)
        await chat.type("garden")
        await sidebar_lists(chat, "Garden")

        await chat.press(*["backspace"] * 6)
        await chat.type("nothing like this")
        await sidebar_lists(chat)
        assert "No matches" in chat.text()


async def test_enter_opens_a_found_conversation(open_chat, settings, store_conversation):
    store_conversation("Trip planning", ["Where should we go in May?", "Try Lisbon."])
    store_conversation("Cooking", ["How long do I boil an egg?", "About nine minutes."])
    async with open_chat(settings) as chat:
        await chat.press("ctrl+f")
        await chat.type("lisbon")
        await sidebar_lists(chat, "Trip planning")
        await chat.press("enter", "enter")
        await chat.wait_for_text("Try Lisbon.")
        assert "Where should we go in May?" in chat.text()
        assert chat.app.focused is chat.screen.prompt


async def test_the_filter_stays_applied_after_a_reply(
    open_chat, make_settings, scripted_server, store_conversation
):
    store_conversation("Trip planning", ["Where should we go in May?", "Try Lisbon."])
    store_conversation("Cooking", ["How long do I boil an egg?", "About nine minutes."])
    async with open_chat(make_settings(scripted_server.config())) as chat:
        await chat.press("ctrl+f")
        await chat.type("lisbon")
        await sidebar_lists(chat, "Trip planning")
        await chat.press("enter", "enter")
        await chat.wait_for_text("Try Lisbon.")

        await chat.send("And in June?")
        await chat.reply_finished()
        await chat.pilot.pause(0.3)
        assert chat.sidebar() == ["Trip planning"]
        assert "lisbon" in chat.text()


async def test_f2_renames_the_highlighted_conversation(open_chat, settings, store_conversation):
    store_conversation("Untitled chat", ["hello", "hi"])
    async with open_chat(settings) as chat:
        await sidebar_lists(chat, "Untitled chat")
        await chat.press("ctrl+f", "down", "f2")
        await chat.wait_for_text("Rename conversation")
        await chat.press("ctrl+u")
        await chat.type("Greetings")
        await chat.press("enter")

        await sidebar_lists(chat, "Greetings")
        assert "Rename conversation" not in chat.text()
        assert [s.title for s in chat.app.workspace.list_conversations()] == ["Greetings"]


async def test_esc_in_the_rename_box_keeps_the_title(open_chat, settings, store_conversation):
    store_conversation("Keep me", ["hello", "hi"])
    async with open_chat(settings) as chat:
        await sidebar_lists(chat, "Keep me")
        await chat.press("ctrl+f", "down", "f2")
        await chat.wait_for_text("Rename conversation")
        await chat.type(" not")
        await chat.press("escape")
        await chat.pilot.pause(0.2)
        assert chat.sidebar() == ["Keep me"]
        assert [s.title for s in chat.app.workspace.list_conversations()] == ["Keep me"]


async def test_delete_asks_first_and_ctrl_z_brings_it_back(open_chat, settings, store_conversation):
    store_conversation("Older", ["a", "b"], updated=time.time() - 60)
    store_conversation("Doomed", ["c", "d"])
    async with open_chat(settings) as chat:
        await sidebar_lists(chat, "Doomed", "Older")
        await chat.press("ctrl+f", "down", "delete")
        await chat.wait_for_text("Delete this conversation?")

        await chat.press("n")
        await chat.pilot.pause(0.2)
        assert chat.sidebar() == ["Doomed", "Older"]

        await chat.press("delete")
        await chat.wait_for_text("Delete this conversation?")
        await chat.press("y")
        await sidebar_lists(chat, "Older")
        assert "Press ctrl+z to undo" in chat.text()
        assert [s.title for s in chat.app.workspace.list_conversations()] == ["Older"]

        await chat.press("ctrl+z")
        await sidebar_lists(chat, "Doomed", "Older")
        assert "Conversation restored" in chat.text()
        assert len(chat.app.workspace.list_conversations()) == 2


async def test_ctrl_z_undoes_a_delete_even_from_the_message_box(
    open_chat, make_settings, scripted_server
):
    async with open_chat(make_settings(scripted_server.config())) as chat:
        await chat.send("Remember this")
        await chat.reply_finished()
        await sidebar_lists(chat, "Remember this")

        # Deleted from the command palette, so the message box has focus afterwards.
        await chat.press("ctrl+p")
        await chat.type("delete conv")
        await chat.wait_for_text("Delete this conversation")
        await chat.press("enter")
        await chat.wait_for_text("Delete this conversation?")
        await chat.press("y")
        await sidebar_lists(chat)
        assert chat.views() == []
        assert chat.app.focused is chat.screen.prompt

        await chat.press("ctrl+z")
        await sidebar_lists(chat, "Remember this")
        assert chat.draft == ""


async def test_ctrl_z_in_the_message_box_still_undoes_typing(
    open_chat, settings, store_conversation
):
    store_conversation("Doomed", ["c", "d"])
    async with open_chat(settings) as chat:
        await sidebar_lists(chat, "Doomed")
        await chat.press("ctrl+f", "down", "delete")
        await chat.wait_for_text("Delete this conversation?")
        await chat.press("y")
        await sidebar_lists(chat)

        # Typing after the delete makes ctrl+z mean "undo my typing" again.
        await chat.press("tab", "tab")
        assert chat.app.focused is chat.screen.prompt
        await chat.type("oops")
        await chat.press("ctrl+z")
        assert chat.draft == ""
        assert chat.sidebar() == []


async def test_a_thousand_message_conversation_opens_fast_and_loads_older_on_scroll(
    open_chat, settings, store_conversation
):
    store_conversation("Long", [f"message number {n}" for n in range(1000)])
    async with open_chat(settings) as chat:
        await sidebar_lists(chat, "Long")
        await chat.press("ctrl+f", "down")
        started = time.perf_counter()
        await chat.press("enter")
        await chat.wait_for_text("message number 999")
        assert time.perf_counter() - started < 5.0
        # Only the newest page is built; the rest waits for the user to scroll up.
        assert len(chat.views()) <= 40
        assert chat.views()[0].message.content != "message number 0"

        await chat.press("shift+tab")
        assert chat.app.focused is chat.views()[-1]
        for page in range(2):
            oldest = chat.views()[0].message.content
            assert oldest not in chat.text()
            await chat.press("home")
            await chat.wait_until(
                lambda top=oldest: chat.views()[0].message.content != top,
                f"older page {page + 1}",
            )
            # What was the oldest message stays in sight: the view does not jump.
            await chat.wait_for_text(oldest + "\n")
        assert chat.views()[0].message.content == "message number 880"


async def test_the_model_names_a_new_conversation_after_the_first_reply(
    open_chat, make_settings, scripted_server
):
    question = "Plan three days in Lisbon in May, with a day trip to Sintra"
    script = {
        question: ["Day one: Alfama."],
        TITLE_PROMPT.format(question=question): ["Lisbon in May"],
    }
    async with open_chat(make_settings(scripted_server.config(script))) as chat:
        await chat.send(question)
        await chat.reply_finished()
        await sidebar_lists(chat, "Lisbon in May")
        assert [s.title for s in chat.app.workspace.list_conversations()] == ["Lisbon in May"]


async def test_a_rename_during_title_generation_is_kept(open_chat, make_settings, scripted_server):
    question = "Plan three days in Lisbon in May"
    script = {question: ["Alfama."], TITLE_PROMPT.format(question=question): ["Lisbon days"]}
    # Slow enough (a second a word) to rename before the model's title arrives.
    async with open_chat(make_settings(scripted_server.config(script, delay=1.0))) as chat:
        await chat.send(question)
        await chat.reply_finished()
        await chat.press("ctrl+f", "down", "f2")
        await chat.wait_for_text("Rename conversation")
        await chat.press("ctrl+u")
        await chat.type("My trip")
        await chat.press("enter")
        await sidebar_lists(chat, "My trip")

        titles = scripted_server.script(chat.screen.session.model).questions
        await chat.wait_until(lambda: len(titles) == 2, "the title request")
        await chat.pilot.pause(3)
        assert chat.sidebar() == ["My trip"]
        assert [s.title for s in chat.app.workspace.list_conversations()] == ["My trip"]
