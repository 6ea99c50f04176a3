"""Memory in the chat screen: /remember and /forget, suggestions that wait for a yes,
"used N memories" on a reply, regenerate without memory, incognito."""

from __future__ import annotations

from chatapp.core.models import MemorySource, Role
from chatapp.ui.widgets.memory_suggestion import MemorySuggestion


def memories(chat) -> list[str]:
    return [memory.text for memory in chat.app.workspace.memory.book.list()]


async def test_remember_and_forget_from_the_message_box(open_chat, make_settings, scripted_server):
    async with open_chat(make_settings(scripted_server.config())) as chat:
        await chat.send("/remember I am allergic to peanuts")
        await chat.wait_until(lambda: memories(chat), "the memory")
        assert memories(chat) == ["I am allergic to peanuts"]
        await chat.wait_for_text("remembered: I am allergic to peanuts")
        assert chat.draft == "" and chat.screen.session is None  # nothing was sent

        await chat.send("/remember password: hunter2-hunter2")
        await chat.wait_for_text("not saved: it looks like a password")
        assert chat.draft == "/remember password: hunter2-hunter2"  # kept, not lost
        chat.screen.prompt.clear()

        await chat.send("/forget peanuts")
        await chat.wait_for_text("Forget this memory?")
        await chat.press("y")
        await chat.wait_until(lambda: not memories(chat), "the memory to go")


async def test_a_suggestion_waits_for_accept_edit_or_dismiss(
    open_chat, make_settings, scripted_server
):
    async with open_chat(make_settings(scripted_server.config())) as chat:
        await chat.send("I'm vegetarian and I live in Leeds. Any dinner ideas?")
        await chat.reply_finished()
        await chat.wait_until(lambda: len(chat.screen.query(MemorySuggestion)) == 2, "two")
        assert memories(chat) == []  # nothing without a yes
        first, second = chat.screen.query(MemorySuggestion)
        assert "Remember?" in chat.text()

        first.focus()
        await chat.press("a")
        await chat.wait_until(lambda: len(memories(chat)) == 1, "the accepted one")
        (kept,) = chat.app.workspace.memory.book.list()
        assert kept.source == MemorySource.SUGGESTED
        assert kept.source_message_id == chat.stored()[0].id

        second.focus()
        await chat.press("e")
        await chat.wait_for_text("Remember")
        await chat.press("ctrl+a", "ctrl+k")
        await chat.type("Lives in Leeds, UK")
        await chat.press("enter")
        await chat.wait_until(lambda: "Lives in Leeds, UK" in memories(chat), "the edited one")
        assert not chat.screen.query(MemorySuggestion)


async def test_a_reply_shows_the_memories_it_used_and_regenerates_without_them(
    open_chat, make_settings, scripted_server
):
    async with open_chat(make_settings(scripted_server.config())) as chat:
        chat.app.workspace.memory.remember("Loves very spicy Sichuan food")
        await chat.send("Suggest a spicy dinner")
        await chat.reply_finished()
        reply = chat.views()[-1]
        assert reply.message.role == Role.ASSISTANT
        await chat.wait_for_text("used 1 memory")
        reply.focus()
        await chat.press("i")
        await chat.wait_for_text("Loves very spicy Sichuan food")

        await chat.press("ctrl+g")
        await chat.reply_finished()
        await chat.wait_until(lambda: chat.views()[-1].message.id != reply.message.id, "new")
        assert chat.views()[-1].message.memories_used == []
        assert "2/2" in chat.text()


async def test_an_incognito_chat_is_not_kept(open_chat, make_settings, scripted_server, data_dir):
    async with open_chat(make_settings(scripted_server.config())) as chat:
        chat.screen.action_new_chat(incognito=True)
        await chat.wait_until(lambda: "incognito" in chat.status, "the status")
        await chat.send("I live in Paris. Where should I eat?")
        await chat.reply_finished()
        await chat.pilot.pause(0.3)
        assert not chat.screen.query(MemorySuggestion)
        assert chat.app.workspace.list_conversations() == []


async def test_deleting_a_conversation_offers_to_forget_its_memories(
    open_chat, make_settings, scripted_server
):
    async with open_chat(make_settings(scripted_server.config())) as chat:
        await chat.send("I'm vegetarian. Ideas for lunch?")
        await chat.reply_finished()
        await chat.wait_until(lambda: chat.screen.query(MemorySuggestion), "the suggestion")
        chat.screen.query_one(MemorySuggestion).focus()
        await chat.press("a")
        await chat.wait_until(lambda: memories(chat), "the memory")
        chat.app.workspace.memory.remember("Kept from elsewhere")

        chat.screen.action_delete_current()
        await chat.wait_for_text("Delete this conversation?")
        await chat.press("y")
        await chat.wait_for_text("Also forget the memory that came from it?")
        assert "Is vegetarian" in chat.text()
        await chat.press("y")
        await chat.wait_until(lambda: memories(chat) == ["Kept from elsewhere"], "forgotten")
