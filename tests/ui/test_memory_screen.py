"""The memory screen: every memory of the user, search as you type, edit, pin, delete with
undo, delete all after asking, memory on/off, and changes made elsewhere showing up."""

from __future__ import annotations

from chatapp.core.workspace import Workspace
from chatapp.ui.screens.memory import MemoryScreen
from tests.ui.conftest import Chat


def stored(chat: Chat) -> list[str]:
    return [memory.text for memory in chat.app.workspace.memory.book.list()]


def said(chat: Chat, notice: str) -> bool:
    """Whether the screen shows notice, however a toast wrapped it."""
    return notice in " ".join(chat.text().replace("▌", " ").split())


async def told(chat: Chat, notice: str) -> None:
    await chat.wait_until(lambda: said(chat, notice), repr(notice))


def listed(screen: MemoryScreen) -> list[str]:
    """The memories the list shows, top to bottom."""
    return [memory.text for memory in screen.listing.shown]


async def open_memory(chat: Chat, *facts: str) -> MemoryScreen:
    """Remember facts, then open the memory screen over the chat and wait for its list."""
    for fact in facts:
        chat.app.workspace.memory.remember(fact)
    screen = MemoryScreen(chat.app.workspace)
    await chat.app.push_screen(screen)
    await chat.wait_until(lambda: len(listed(screen)) == len(facts), "the memories listed")
    # The chat screen's notices of those facts are not what the tests look for.
    chat.app.clear_notifications()
    await chat.pilot.pause()
    return screen


async def test_the_list_shows_every_memory_and_memory_is_on(open_chat, settings):
    async with open_chat(settings) as chat:
        await open_memory(chat, "I am vegetarian", "My name is Sam", "我住在北京")
        await chat.wait_for_text("3 memories")
        text = chat.text()
        assert "memory is on for tester" in text
        assert "I am vegetarian" in text and "我住在北京" in text
        assert "[name] My name is Sam" in text


async def test_search_as_you_type_in_english_and_chinese(open_chat, settings):
    async with open_chat(settings) as chat:
        screen = await open_memory(chat, "I am vegetarian", "我住在北京", "Loves spicy food")
        await chat.press("ctrl+f")
        await chat.type("VEG")
        await chat.wait_until(lambda: listed(screen) == ["I am vegetarian"], "one match")
        await chat.wait_for_text("1 of 3 memories match")
        assert "我住在北京" not in chat.text_of(screen.memory_list)

        await chat.press("backspace", "backspace", "backspace")
        await chat.wait_until(lambda: len(listed(screen)) == 3, "all three again")
        await chat.type("北京")
        await chat.wait_until(lambda: listed(screen) == ["我住在北京"], "the Chinese one")
        await chat.press("down")  # into the list, where the keys act on the match
        assert screen.focused is screen.memory_list
        await chat.press("p")
        await chat.wait_until(lambda: chat.app.workspace.memory.book.list()[1].pinned, "pinned")

        await chat.press("ctrl+f")  # back in the box, its text selected to type over
        await chat.type("猫")
        await chat.wait_for_text("No memory contains “猫”")


async def test_edit_changes_the_stored_text_and_says_what_it_was(open_chat, settings):
    async with open_chat(settings) as chat:
        await open_memory(chat, "Works in Go")
        await chat.press("e")
        await chat.wait_for_text("Edit memory")
        await chat.press("ctrl+a", "ctrl+k")
        await chat.type("Works in Rust")
        await chat.press("enter")
        await chat.wait_until(lambda: stored(chat) == ["Works in Rust"], "the new text stored")
        await told(chat, "memory updated: Works in Rust (was: Works in Go) · ctrl+z undoes it")

        await chat.press("enter")  # Enter edits too
        await chat.wait_for_text("Edit memory")
        await chat.press("escape")  # and Esc leaves it as it was
        await chat.wait_until(lambda: isinstance(chat.app.screen, MemoryScreen), "back")
        assert stored(chat) == ["Works in Rust"]


async def test_pin_marks_the_memory(open_chat, settings):
    async with open_chat(settings) as chat:
        await open_memory(chat, "I am vegetarian")
        await chat.press("p")
        book = chat.app.workspace.memory.book
        await chat.wait_until(lambda: book.list()[0].pinned, "the memory pinned")
        await chat.wait_for_text("📌")
        assert said(chat, "pinned: I am vegetarian · ctrl+z undoes it")

        await chat.press("p")
        await chat.wait_until(lambda: not book.list()[0].pinned, "the memory unpinned")


async def test_delete_and_ctrl_z_brings_it_back(open_chat, settings):
    async with open_chat(settings) as chat:
        screen = await open_memory(chat, "I am vegetarian", "Lives in Leeds")
        await chat.press("d")
        await chat.wait_until(lambda: len(stored(chat)) == 1, "one memory deleted")
        await chat.wait_until(lambda: len(listed(screen)) == 1, "the list to follow")
        assert said(chat, "forgot: ")
        assert said(chat, "ctrl+z brings it back")
        await chat.press("ctrl+z")
        await chat.wait_until(lambda: len(stored(chat)) == 2, "the memory back")
        await chat.wait_until(lambda: len(listed(screen)) == 2, "the list to follow")
        await told(chat, "undone: deleting")


async def test_delete_all_asks_first(open_chat, settings):
    async with open_chat(settings) as chat:
        await open_memory(chat, "I am vegetarian", "Lives in Leeds")
        await chat.press("D")
        await chat.wait_for_text("Forget all 2 memories of tester?")
        await chat.press("n")
        await chat.wait_until(lambda: isinstance(chat.app.screen, MemoryScreen), "no change")
        assert len(stored(chat)) == 2

        await chat.press("D")
        await chat.wait_for_text("Forget all 2 memories of tester?")
        await chat.press("y")
        await chat.wait_until(lambda: stored(chat) == [], "every memory gone")
        await chat.wait_for_text("No memories yet")
        text = chat.text()
        assert "/remember" in text and "chatapp memory add" in text


async def test_add_and_a_refused_secret_is_told_not_crashed(open_chat, settings):
    async with open_chat(settings) as chat:
        await open_memory(chat)
        await chat.wait_for_text("No memories yet")
        await chat.press("a")
        await chat.wait_for_text("Remember")
        await chat.type("Prefers short answers")
        await chat.press("enter")
        await chat.wait_until(lambda: stored(chat) == ["Prefers short answers"], "added")
        await told(chat, "remembered: Prefers short answers")

        await chat.press("a")
        await chat.wait_for_text("Remember")
        await chat.type("password: hunter2-hunter2")
        await chat.press("enter")
        await told(chat, "not saved: it looks like a password")
        assert stored(chat) == ["Prefers short answers"]


async def test_memory_off_is_stored_for_the_user(open_chat, settings):
    async with open_chat(settings) as chat:
        await open_memory(chat, "I am vegetarian")
        await chat.press("o")
        await chat.wait_until(lambda: not chat.app.workspace.memory.enabled, "memory off")
        await chat.wait_for_text("memory is off for tester")
        await chat.press("o")
        await chat.wait_until(lambda: chat.app.workspace.memory.enabled, "memory on again")


async def test_a_change_made_from_the_chat_or_the_cli_shows_up(open_chat, settings):
    async with open_chat(settings) as chat:
        screen = await open_memory(chat, "I am vegetarian")
        chat.app.workspace.memory.remember("喜欢喝绿茶")
        await chat.wait_until(lambda: "喜欢喝绿茶" in listed(screen), "the new memory listed")
        await chat.wait_for_text("2 memories")

        # As `chatapp memory add` in another terminal would: no event reaches this app.
        Workspace(settings).memory.remember("Plays the violin")
        await chat.wait_until(lambda: "Plays the violin" in listed(screen), "the CLI's memory")


async def test_the_keys_page_shows_the_screen_keys(open_chat, settings):
    async with open_chat(settings) as chat:
        await open_memory(chat, "I am vegetarian")
        await chat.press("f1")
        await chat.wait_for_text("Forget every memory (asks first)")
        assert "Undo the last change to memory" in chat.text()
