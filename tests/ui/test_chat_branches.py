"""Regenerating a reply, switching between versions, and editing a question into a branch."""

from __future__ import annotations

from chatapp.core.models import Role

COLOURS = {"Name a colour": ["Red.", "Green.", "Blue."]}


async def regenerate_twice(chat) -> None:
    await chat.send("Name a colour")
    await chat.reply_finished()
    for _ in range(2):
        await chat.press("ctrl+r")
        await chat.reply_finished()


async def focus_reply(chat) -> None:
    """Shift+Tab from the message box lands on the last message."""
    await chat.press("shift+tab")
    assert chat.app.focused is chat.views()[-1]


async def test_ctrl_r_adds_a_version_and_keeps_the_old_one(
    open_chat, make_settings, scripted_server
):
    async with open_chat(make_settings(scripted_server.config(COLOURS))) as chat:
        await chat.send("Name a colour")
        await chat.reply_finished()
        assert "Red." in chat.text()

        await chat.press("ctrl+r")
        await chat.reply_finished()
        reply = chat.text_of(chat.views()[-1])
        assert "‹ 2/2 ›" in reply and "Green." in reply
        assert "Red." not in chat.text()
        assert len(chat.views()) == 2

        await chat.press("ctrl+r")
        await chat.reply_finished()
        assert "‹ 3/3 ›" in chat.text_of(chat.views()[-1])
        assert "Blue." in chat.text()
        assert [m.content for m in chat.stored()] == ["Name a colour", "Blue."]


async def test_brackets_and_arrows_switch_versions_of_a_focused_reply(
    open_chat, make_settings, scripted_server
):
    async with open_chat(make_settings(scripted_server.config(COLOURS))) as chat:
        await regenerate_twice(chat)
        await focus_reply(chat)

        await chat.press("[")
        await chat.wait_until(lambda: "Green." in chat.text(), "version 2")
        assert "‹ 2/3 ›" in chat.text_of(chat.views()[-1])
        assert "Blue." not in chat.text()

        # Focus stays on the reply, so the next key goes on switching.
        await chat.press("left")
        await chat.wait_until(lambda: "Red." in chat.text(), "version 1")
        assert "‹ 1/3 ›" in chat.text()

        await chat.press("left")
        await chat.wait_until(lambda: "Blue." in chat.text(), "wrapping round to version 3")
        await chat.press("]")
        await chat.wait_until(lambda: "Red." in chat.text(), "version 1 again")
        await chat.press("right")
        await chat.wait_until(lambda: "Green." in chat.text(), "version 2 again")

        # The choice is stored: reopening shows the same version.
        assert [m.content for m in chat.stored()] == ["Name a colour", "Green."]


async def test_clicking_the_arrows_switches_versions(open_chat, make_settings, scripted_server):
    async with open_chat(make_settings(scripted_server.config(COLOURS))) as chat:
        await regenerate_twice(chat)

        await chat.pilot.click(".arrow.previous")
        await chat.wait_until(lambda: "‹ 2/3 ›" in chat.text(), "version 2")
        assert "Green." in chat.text() and "Blue." not in chat.text()
        await chat.pilot.click(".arrow.next")
        await chat.wait_until(lambda: "‹ 3/3 ›" in chat.text(), "version 3")
        assert "Blue." in chat.text()


async def test_a_new_message_continues_the_version_on_screen(
    open_chat, make_settings, scripted_server
):
    async with open_chat(make_settings(scripted_server.config(COLOURS))) as chat:
        await regenerate_twice(chat)
        await focus_reply(chat)
        await chat.press("[")
        await chat.wait_until(lambda: "Green." in chat.text(), "version 2")

        await chat.press("tab")
        await chat.send("Why?")
        await chat.reply_finished()
        assert [text for _, text in chat.thread()] == [
            "Name a colour",
            "Green.",
            "Why?",
            "You said: Why?",
        ]
        assert [m.content for m in chat.stored()][1] == "Green."


async def test_e_on_a_question_edits_it_into_a_new_branch(
    open_chat, make_settings, scripted_server
):
    script = {"Capital of France?": ["Paris."], "Capital of Italy?": ["Rome."]}
    async with open_chat(make_settings(scripted_server.config(script))) as chat:
        await chat.send("Capital of France?")
        await chat.reply_finished()
        await chat.type("half-written draft")

        await chat.press("shift+tab", "shift+tab")
        assert chat.app.focused is chat.views()[0]
        await chat.press("e")
        assert chat.draft == "Capital of France?"
        assert "Editing a message: Enter sends it as a new branch" in chat.text()

        await chat.press(*["backspace"] * len("France?"))
        await chat.send("Italy?")
        await chat.reply_finished()

        question, reply = chat.views()
        assert "‹ 2/2 ›" in chat.text_of(question)
        assert "Capital of Italy?" in chat.text_of(question)
        assert "Rome." in chat.text_of(reply)
        assert "Paris." not in chat.text()
        assert "Editing a message" not in chat.text()
        # The draft from before the edit is back.
        assert chat.draft == "half-written draft"
        stored = chat.stored()
        assert [(m.role, m.content) for m in stored] == [
            (Role.USER, "Capital of Italy?"),
            (Role.ASSISTANT, "Rome."),
        ]

        # The first question is still there, one key away.
        await chat.press("shift+tab", "shift+tab", "[")
        await chat.wait_until(lambda: "Paris." in chat.text(), "the first branch")
        assert "‹ 1/2 ›" in chat.text_of(chat.views()[0])


async def test_esc_cancels_an_edit_and_gives_the_draft_back(
    open_chat, make_settings, scripted_server
):
    async with open_chat(make_settings(scripted_server.config())) as chat:
        await chat.send("First question")
        await chat.reply_finished()
        await chat.type("my draft")
        await chat.press("shift+tab", "shift+tab", "e")
        assert chat.draft == "First question"

        await chat.press("escape")
        assert chat.draft == "my draft"
        assert "Editing a message" not in chat.text()
        assert len(chat.stored()) == 2
