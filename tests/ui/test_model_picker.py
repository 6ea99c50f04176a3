"""The model picker says why a local model cannot load before the user picks it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.widgets import OptionList

from chatapp.config import ModelConfig


def squeezed(text: str) -> str:
    """text without its whitespace: a long path wraps anywhere, even inside a word."""
    return "".join(text.split())


async def test_the_picker_shows_why_a_local_model_cannot_load(
    open_chat, make_settings, tmp_path: Path
):
    notes = tmp_path / "notes.gguf"
    notes.write_text("hello, this is not a model\n")
    bad = ModelConfig(name="notes", backend="llama", path=notes, n_ctx=2048)
    settings = make_settings(bad, default="smollm2")
    async with open_chat(settings) as chat:
        await chat.press("ctrl+o")
        await chat.wait_for_text("Answer with which model?")
        listed = squeezed(chat.text_of(chat.app.screen.query_one(OptionList)))
        assert squeezed(f"notes llama not a GGUF file: {notes}") in listed
        # A good local model shows where it comes from, not a problem.
        assert squeezed("● smollm2 llama bundled SmolLM2-135M") in listed

        # Picked anyway: the whole reason, in one notification.
        await chat.press("up", "enter")
        await chat.wait_for_text("Next replies come from notes")
        await chat.wait_until(lambda: chat.status.endswith("error"), "the load to fail")
        toasts = [squeezed(chat.text_of(toast)) for toast in chat.app.screen.query("Toast")]
        reason = f"model notes: {notes} is not a GGUF file (it starts with 'hell', not 'GGUF')"
        assert squeezed(reason) in toasts


async def test_picking_a_remote_model_whose_key_is_not_set_says_so(
    open_chat, make_settings, scripted_server
):
    keyless = replace(scripted_server.config(name="gpt"), api_key_env="CHATAPP_TEST_UNSET_KEY")
    settings = make_settings(keyless, default="smollm2")
    async with open_chat(settings) as chat:
        await chat.press("ctrl+o")
        await chat.wait_for_text("Answer with which model?")
        await chat.press("up", "enter")
        await chat.wait_until(lambda: chat.status.endswith("error"), "the model to be refused")
        toasts = [chat.line_of(toast) for toast in chat.app.screen.query("Toast")]
        assert "CHATAPP_TEST_UNSET_KEY is not set (api_key_env of model gpt)" in toasts
        assert scripted_server.script(keyless).questions == []
