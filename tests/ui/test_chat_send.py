"""Sending a message and watching the reply stream in, from each kind of model."""

from __future__ import annotations

import re
from dataclasses import replace

from chatapp.core.models import FinishReason, Role


def number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in {text!r}"
    return float(match.group(1).replace(",", ""))


async def test_reply_from_the_embedded_model_streams_in(open_chat, settings):
    async with open_chat(settings) as chat:
        await chat.wait_until(lambda: "idle" in chat.status, "the model to load")
        await chat.send("What is the capital of France?")

        await chat.reply_finished()
        assert chat.draft == ""
        assert "What is the capital of France?" in chat.text()

        (question, reply) = chat.views()
        shown = chat.text_of(reply)
        assert shown.startswith("Assistant  smollm2")
        assert reply.message.content.split()[0] in shown
        stored = chat.stored()
        assert [m.role for m in stored] == [Role.USER, Role.ASSISTANT]
        assert stored[0].content == "What is the capital of France?"
        assert stored[1].content == reply.message.content
        assert stored[1].model == "smollm2"
        # The status bar tells how much context the turn used and how fast it came.
        assert number(r"ctx ([\d,]+)/2,048", chat.status) > 0
        assert number(r"([\d.]+) tok/s", chat.status) > 0
        assert chat.status.endswith("idle")


async def test_reply_from_a_llama_cpp_server_streams_in(open_chat, make_settings, llama_server):
    settings = make_settings(llama_server.config(max_tokens=24))
    async with open_chat(settings) as chat:
        assert chat.status.startswith("llama-server · tester")
        await chat.send("Name a fruit.")
        await chat.reply_finished()

        assert chat.thread()[0] == ("user", "Name a fruit.")
        role, reply = chat.thread()[1]
        assert role == "assistant" and reply.strip()
        assert "Assistant  llama-server" in chat.text()
        assert chat.stored()[1].content == reply
        assert number(r"ctx ([\d,]+)/4,096", chat.status) > 0
        assert "tok/s" in chat.status


async def test_text_arrives_word_by_word_not_all_at_the_end(
    open_chat, make_settings, scripted_server
):
    words = " ".join(f"word{n}" for n in range(40))
    settings = make_settings(scripted_server.config({"Talk": [words]}, delay=0.03))
    async with open_chat(settings) as chat:
        await chat.send("Talk")
        await chat.wait_until(lambda: "word3" in chat.text(), "the first words")
        assert "word39" not in chat.text()
        assert "generating" in chat.status
        await chat.reply_finished()
        assert "word39" in chat.text()


async def test_esc_stops_the_reply_and_keeps_what_arrived(open_chat, make_settings, embedded):
    settings = make_settings(replace(embedded, max_tokens=400))
    async with open_chat(settings) as chat:
        await chat.wait_until(lambda: "idle" in chat.status, "the model to load")
        await chat.send("Write a long story about a dragon and a knight.")
        await chat.wait_until(
            lambda: len(chat.text_of(chat.views()[-1]).split()) > 6, "some of the reply"
        )
        await chat.press("escape")
        await chat.reply_finished()

        reply = chat.views()[-1]
        shown = chat.text_of(reply)
        assert shown.startswith("Assistant  smollm2  [stopped]")
        assert chat.status.endswith("stopped")
        stored = chat.stored()[-1]
        assert stored.finish_reason == FinishReason.CANCELLED
        assert stored.incomplete
        assert stored.content.strip()
        assert stored.content.split()[0] in shown
        assert len(stored.content.split()) < 300


async def test_esc_stops_a_remote_reply_and_keeps_what_arrived(
    open_chat, make_settings, scripted_server
):
    words = " ".join(f"w{n}" for n in range(300))
    settings = make_settings(scripted_server.config({"Count": [words]}, delay=0.02))
    async with open_chat(settings) as chat:
        await chat.send("Count")
        await chat.wait_until(lambda: "w5" in chat.text(), "some of the reply")
        await chat.press("escape")
        await chat.reply_finished()

        assert "[stopped]" in chat.text_of(chat.views()[-1])
        stored = chat.stored()[-1]
        assert stored.finish_reason == FinishReason.CANCELLED
        assert stored.content.startswith("w0 w1 w2 w3 w4 w5")
        assert "w299" not in stored.content
        # What was kept is what the user saw.
        assert chat.views()[-1].message.content == stored.content
