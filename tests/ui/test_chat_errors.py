"""When things go wrong: server errors with Retry, a dropped stream, a paste too big to
send, and model output that would be markup or terminal escapes if it were trusted."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events

from chatapp.core.models import FinishReason, Role
from chatapp.store.conversations import ConversationRepo
from chatapp.store.users import UserDir
from chatapp.ui.widgets.message_view import ErrorBlock
from tests.fixtures.locks import conversation_file, lock_held_by_another_process
from tests.fixtures.servers import SECRET_KEY


@pytest.mark.parametrize(
    ("fault", "shown"),
    [
        ("server-error", "server error 500"),
        ("unauthorized", "rejected the API key"),
        ("rate-limited", "rate limited by the server; retry in 7 s"),
        ("stall", "timed out"),
        ("malformed", "malformed response"),
    ],
)
async def test_a_failed_reply_shows_why_and_keeps_the_question_and_the_draft(
    open_chat, make_settings, fault_server, fault, shown
):
    async with open_chat(make_settings(fault_server.config(fault))) as chat:
        await chat.send("Will this work?")
        await chat.type("my next question")
        await chat.reply_finished()

        assert chat.status.endswith("error")
        block = chat.screen.query_one(ErrorBlock)
        assert shown in chat.line_of(block.query_one(".error-text"))
        assert "Retry" in chat.text_of(block.query_one(".retry"))
        assert "Will this work?" in chat.text()
        assert SECRET_KEY not in chat.text()
        assert chat.draft == "my next question"
        assert [(m.role, m.content) for m in chat.stored()] == [(Role.USER, "Will this work?")]


async def test_retry_after_switching_to_a_working_model_answers_the_same_question(
    open_chat, make_settings, fault_server
):
    settings = make_settings(fault_server.config("server-error"), fault_server.config("ok"))
    async with open_chat(settings) as chat:
        await chat.send("Will this work?")
        await chat.reply_finished()
        assert chat.screen.query(ErrorBlock)
        await chat.type("draft kept")

        await chat.press("ctrl+o")
        await chat.wait_for_text("Answer with which model?")
        await chat.press("down", "enter")
        await chat.wait_until(lambda: chat.status.startswith("fault-ok"), "the switch")
        await chat.pilot.click(".retry")
        await chat.reply_finished()

        assert "Hello, world!" in chat.text()
        assert not chat.screen.query(ErrorBlock)
        assert chat.status.endswith("idle")
        assert chat.draft == "draft kept"
        assert [m.content for m in chat.stored()] == ["Will this work?", "Hello, world!"]


async def test_a_dropped_stream_keeps_the_partial_reply_marked_incomplete(
    open_chat, make_settings, fault_server
):
    settings = make_settings(fault_server.config("drop"), fault_server.config("ok"))
    async with open_chat(settings) as chat:
        await chat.send("Say hello")
        await chat.reply_finished()

        reply = chat.views()[-1]
        shown = chat.text_of(reply)
        assert "[incomplete]" in shown
        assert "Hello, world!" in shown
        assert "midway" in chat.line_of(reply.query_one(ErrorBlock).query_one(".error-text"))
        stored = chat.stored()[-1]
        assert stored.content == "Hello, world!"
        assert stored.incomplete and stored.finish_reason == FinishReason.ERROR

        # Retry answers again beside it: the partial reply stays as version 1.
        await chat.press("ctrl+o")
        await chat.wait_for_text("Answer with which model?")
        await chat.press("down", "enter")
        await chat.wait_until(lambda: chat.status.startswith("fault-ok"), "the switch")
        await chat.pilot.click(".retry")
        await chat.reply_finished()
        assert "‹ 2/2 ›" in chat.text_of(chat.views()[-1])
        assert "[incomplete]" not in chat.text()
        assert chat.stored()[-1].finish_reason == FinishReason.STOP


def megabyte_paste() -> str:
    lines = (f"{n:6d}: the quick brown fox jumps over the lazy dog, again\n" for n in range(17500))
    return "".join(lines)


async def test_a_huge_paste_that_cannot_be_sent_stays_in_the_box(
    open_chat, make_settings, scripted_server
):
    paste = megabyte_paste()
    assert len(paste) > 1_000_000
    async with open_chat(make_settings(scripted_server.config())) as chat:
        chat.app.post_message(events.Paste(paste))
        await chat.wait_until(lambda: len(chat.draft) == len(paste), "the paste")

        await chat.press("enter")
        await chat.wait_for_text("the prompt is too long")
        assert chat.draft == paste
        assert chat.views() == []
        assert chat.app.workspace.list_conversations() == []

        # Replaced by something short, it goes, and alone: nothing of the refused send
        # lingers in the conversation.
        await chat.press("f7")  # select all
        await chat.type("just the first line")
        await chat.press("enter")
        await chat.reply_finished()
        assert [m.content for m in chat.stored()] == [
            "just the first line",
            "You said: just the first line",
        ]


async def test_a_refused_send_in_an_open_conversation_leaves_it_as_it_was(
    open_chat, make_settings, scripted_server
):
    async with open_chat(make_settings(scripted_server.config())) as chat:
        await chat.send("first")
        await chat.reply_finished()
        chat.app.post_message(events.Paste(megabyte_paste()))
        await chat.press("enter")
        await chat.wait_for_text("the prompt is too long")

        await chat.press("f7")
        await chat.type("second")
        await chat.press("enter")
        await chat.reply_finished()
        assert [text for _, text in chat.thread()] == [
            "first",
            "You said: first",
            "second",
            "You said: second",
        ]
        assert [m.content for m in chat.stored()] == [text for _, text in chat.thread()]


MARKUP = "Styled [bold]x[/bold], a [link=http://x]y[/link], bad [/] and [red"
ESCAPES = "\x1b[31mred\x1b[0m and \x1b]8;;http://evil\x07link\x1b]8;;\x07"


async def test_markup_and_escapes_in_a_reply_are_shown_literally(
    open_chat, make_settings, scripted_server
):
    script = {"Show markup": [MARKUP], "Show escapes": [ESCAPES]}
    async with open_chat(make_settings(scripted_server.config(script))) as chat:
        await chat.send("Show markup")
        await chat.reply_finished()
        shown = chat.text_of(chat.views()[-1])
        assert "[bold]x[/bold]" in shown
        assert "[link=http://x]y[/link]" in shown
        assert "bad [/] and [red" in shown

        await chat.send("Show escapes")
        await chat.reply_finished()
        shown = chat.text_of(chat.views()[-1])
        assert "␛[31mred␛[0m" in shown
        assert "␛]8;;http://evil␇link" in shown
        assert "\x1b" not in chat.text()
        assert chat.stored()[-1].content == ESCAPES


async def test_markup_in_stored_titles_and_messages_is_shown_literally(
    open_chat, settings, store_conversation
):
    store_conversation("[bold]Bold[/] title [/]", [MARKUP, ESCAPES])
    async with open_chat(settings) as chat:
        await chat.wait_until(lambda: chat.sidebar(), "the sidebar")
        assert chat.sidebar() == ["[bold]Bold[/] title [/]"]
        await chat.press("ctrl+f", "down", "enter")
        await chat.wait_for_text("[link=http://x]y[/link]")
        assert "[bold]x[/bold]" in chat.text()
        assert "␛[31mred␛[0m" in chat.text()


async def first_turn(chat) -> Path:
    """Ask and get the answer; returns the conversation's file, for another process to lock."""
    await chat.send("First question")
    await chat.reply_finished()
    return conversation_file(chat.app.workspace.conversations, chat.screen.session.conversation.id)


async def test_a_message_that_cannot_be_stored_goes_back_into_the_input(
    open_chat, make_settings, fault_server
):
    async with open_chat(make_settings(fault_server.config("ok"))) as chat:
        with lock_held_by_another_process(await first_turn(chat)):
            await chat.send("Keep this text")
            await chat.type("and this")
            # The store waits for the lock (10 s) before it gives up.
            await chat.reply_finished(timeout=30)

        assert chat.status.endswith("error")
        await chat.wait_for_text("Not sent, your message is back in the input")
        assert "is locked by another chatapp process" in " ".join(chat.text().split())
        assert chat.draft == "Keep this text\nand this"
        assert "Keep this text" not in chat.text_of(chat.screen.thread_view)
        assert [m.content for m in chat.stored()] == ["First question", "Hello, world!"]

        await chat.press("enter")
        await chat.reply_finished()
        assert [m.content for m in chat.stored()][2:] == [
            "Keep this text\nand this",
            "Hello, world!",
        ]


async def test_a_message_to_a_conversation_deleted_elsewhere_goes_back_into_the_input(
    open_chat, make_settings, fault_server, data_dir
):
    async with open_chat(make_settings(fault_server.config("ok"))) as chat:
        await first_turn(chat)
        # chatapp in another terminal deletes this conversation: storing fails at once.
        ConversationRepo(UserDir(data_dir, "tester")).delete(chat.screen.session.conversation.id)

        await chat.send("Keep this text")
        await chat.wait_for_text("Not sent, your message is back in the input")
        assert chat.status.endswith("error")
        assert chat.draft == "Keep this text"
        assert chat.thread() == [("user", "First question"), ("assistant", "Hello, world!")]

        # An edit goes back into editing the same message.
        await chat.press(*["backspace"] * len("Keep this text"))
        await chat.press("shift+tab", "shift+tab", "e")
        assert chat.draft == "First question"
        await chat.press("end")
        await chat.send(" again")
        await chat.wait_until(lambda: chat.draft == "First question again", "the edit back")
        assert "Editing a message: Enter sends it as a new branch" in chat.text()
        assert chat.thread() == [("user", "First question"), ("assistant", "Hello, world!")]
        await chat.press("escape")
        assert chat.draft == ""


async def test_a_message_left_with_ctrl_n_while_it_waits_for_the_store_still_comes_back(
    open_chat, make_settings, fault_server
):
    async with open_chat(make_settings(fault_server.config("ok"))) as chat:
        with lock_held_by_another_process(await first_turn(chat)):
            await chat.send("Keep this text")
            await chat.press("ctrl+n")
            await chat.wait_for_text("Not sent, your message is back in the input", 30)

        assert chat.screen.session is None  # still in the new chat
        assert chat.draft == "Keep this text"
