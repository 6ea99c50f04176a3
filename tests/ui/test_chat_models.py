"""Choosing the model that answers, and talking to a local model that is still loading."""

from __future__ import annotations

import threading

import pytest

from chatapp.core.backends.llama_local import LlamaBackend


@pytest.fixture
def slow_load(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The local model loads only once the returned event is set."""
    may_load = threading.Event()
    load = LlamaBackend.load

    def held_load(self: LlamaBackend) -> None:
        may_load.wait(60)
        load(self)

    monkeypatch.setattr(LlamaBackend, "load", held_load)
    yield may_load
    may_load.set()


async def test_ctrl_o_switches_model_and_the_next_reply_says_which(
    open_chat, make_settings, scripted_server
):
    settings = make_settings(scripted_server.config({"Hi": ["Hello from the script."]}))
    async with open_chat(settings) as chat:
        await chat.send("Hi")
        await chat.reply_finished()
        assert "Assistant  scripted" in chat.text()

        await chat.press("ctrl+o")
        await chat.wait_for_text("Answer with which model?")
        assert "● scripted" in chat.text()
        await chat.press("down", "enter")
        await chat.wait_until(lambda: chat.status.startswith("smollm2 ·"), "the status bar")
        await chat.wait_for_text("Next replies come from smollm2")

        await chat.send("Say one word.")
        await chat.reply_finished()
        first, second = chat.views()[1], chat.views()[3]
        assert chat.text_of(first).startswith("Assistant  scripted")
        assert chat.text_of(second).startswith("Assistant  smollm2")
        assert [m.model for m in chat.stored()] == [None, "scripted", None, "smollm2"]


async def test_ctrl_o_can_switch_to_a_llama_cpp_server(open_chat, make_settings, llama_server):
    settings = make_settings(llama_server.config(max_tokens=16), default="smollm2")
    async with open_chat(settings) as chat:
        await chat.wait_until(lambda: chat.status.endswith("idle"), "the model to load")
        await chat.press("ctrl+o")
        await chat.wait_for_text("Answer with which model?")
        await chat.press("up", "enter")
        await chat.wait_until(lambda: chat.status.startswith("llama-server ·"), "the status bar")

        await chat.send("Name a colour.")
        await chat.reply_finished()
        assert chat.text_of(chat.views()[-1]).startswith("Assistant  llama-server")
        assert chat.stored()[-1].model == "llama-server"


async def test_a_message_sent_while_the_model_loads_goes_out_when_it_is_ready(
    open_chat, settings, slow_load
):
    async with open_chat(settings) as chat:
        await chat.wait_until(lambda: "loading" in chat.status, "the model to start loading")
        await chat.send("Hello there")

        # Queued: still in the box (and so in the saved draft), the user told so.
        assert chat.status.endswith("loading model… your message is queued")
        assert "Queued: your message goes out as soon as the model has loaded" in chat.text()
        assert chat.draft == "Hello there"
        assert chat.views() == []
        await chat.type(" and more")
        assert chat.draft == "Hello there"

        slow_load.set()
        await chat.reply_finished()
        assert chat.thread()[0] == ("user", "Hello there")
        assert chat.thread()[1][1].strip()
        assert chat.draft == ""
        assert "Queued" not in chat.text()
        assert [m.content for m in chat.stored()][0] == "Hello there"


async def test_esc_takes_a_queued_message_back(open_chat, settings, slow_load):
    async with open_chat(settings) as chat:
        await chat.wait_until(lambda: "loading" in chat.status, "the model to start loading")
        await chat.send("Not yet")
        await chat.press("escape")
        assert "Queued" not in chat.text()
        await chat.type("!")
        assert chat.draft == "Not yet!"

        slow_load.set()
        await chat.wait_until(lambda: chat.status.endswith("idle"), "the model to load")
        assert chat.views() == []
        assert chat.draft == "Not yet!"
