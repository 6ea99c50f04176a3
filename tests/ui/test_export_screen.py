"""Export from the TUI: the palette's "Export training data…" writes the same rows and
card as `chatapp export`, and a failure is one line on the screen, not a crash."""

from __future__ import annotations

import json

from textual.widgets import Input, Select

from chatapp.ui.screens.export import ExportScreen


async def test_export_writes_sft_rows_and_a_card(
    open_chat, make_settings, scripted_server, tmp_path
):
    async with open_chat(make_settings(scripted_server.config())) as chat:
        await chat.send("What is the capital of France?")
        await chat.reply_finished()
        workspace = chat.app.workspace
        workspace.feedback.log.set_consent(True)
        reply = chat.stored()[-1]
        workspace.feedback.rate(chat.screen.session.id, reply.id, 1, ["accurate"])

        chat.screen.action_export()
        await chat.wait_until(lambda: isinstance(chat.app.screen, ExportScreen), "the export")
        screen = chat.app.screen
        screen.query_one("#format", Select).value = "sft"
        target = tmp_path / "liked.jsonl"
        screen.query_one("#path", Input).value = str(target)
        await chat.press("ctrl+s")
        await chat.wait_for_text("dataset card")
        (row,) = [json.loads(line) for line in target.read_text().splitlines()]
        assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
        assert row["messages"][-1]["content"] == reply.content
        assert (tmp_path / "liked.md").exists()


async def test_a_failed_export_is_said_on_the_screen(
    open_chat, make_settings, scripted_server, tmp_path
):
    async with open_chat(make_settings(scripted_server.config())) as chat:
        (tmp_path / "taken.md").write_text("my own notes\n")
        chat.screen.action_export()
        await chat.wait_until(lambda: isinstance(chat.app.screen, ExportScreen), "the export")
        chat.app.screen.query_one("#path", Input).value = str(tmp_path / "taken.jsonl")
        await chat.press("ctrl+s")
        await chat.wait_for_text("not exported")
        assert (tmp_path / "taken.md").read_text() == "my own notes\n"
