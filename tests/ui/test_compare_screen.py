"""The compare screen: variants of a prompt answering side by side, blind until the user
chooses; against a llama.cpp server, the embedded model and the scripted one."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from textual.content import Content
from textual.widgets import Static

from chatapp.core.backends.base import GenerationParams
from chatapp.core.feedback.records import EventType
from chatapp.core.models import FinishReason
from chatapp.core.practice import Variant
from chatapp.ui.app import ChatApp
from chatapp.ui.screens.compare import CompareScreen
from chatapp.ui.widgets.reply_column import ReplyColumn
from tests.fixtures.servers import SECRET_KEY
from tests.ui.conftest import Chat
from tests.ui.test_chat_models import slow_load

# Shared with the chat screen's model tests: the embedded model loads when it is let.
__all__ = ["slow_load"]

SHORT = GenerationParams(max_tokens=16, temperature=0.0, seed=1)


async def open_compare(chat: Chat, variants: list[Variant], **options: Any) -> CompareScreen:
    """The compare screen over the chat, as the app opens it."""
    app = chat.app
    options.setdefault("input_text", "a question")
    screen = CompareScreen(app.workspace, variants, last_key_at=lambda: app.last_key_at, **options)
    await app.push_screen(screen)
    await chat.wait_until(lambda: screen.columns, "the columns")
    return screen


async def all_ended(chat: Chat, screen: CompareScreen) -> None:
    """Every sample has ended and every column has drawn its end."""

    def ended() -> bool:
        run = screen.run
        return (
            run is not None
            and run.done
            and len(screen.columns) == len(run.columns)
            and all("…" not in chat.text_of(c.query_one(".footer")) for c in screen.columns)
        )

    await chat.wait_until(ended, "every sample to end")


def header(chat: Chat, column: ReplyColumn) -> str:
    return chat.text_of(column.query_one(".header"))


def footer(chat: Chat, column: ReplyColumn) -> str:
    return chat.line_of(column.query_one(".footer"))


def shown_reply(chat: Chat, column: ReplyColumn) -> str:
    return chat.line_of(column.query_one(".replies"))


async def test_two_variants_answer_blind_and_choosing_reveals_and_records_them(
    open_chat, make_settings, llama_server, monkeypatch
):
    saved: list[Variant] = []
    monkeypatch.setattr(
        ChatApp,
        "on_compare_screen_save_variant",
        lambda app, message: saved.append(message.variant),
        raising=False,
    )
    colours = Variant(
        "llama-server", "Name a colour.", "Answer in one word.", SHORT, {"name": "colours"}
    )
    fruit = Variant("llama-server", "Name a fruit.", params=SHORT)
    async with open_chat(make_settings(llama_server.config())) as chat:
        screen = await open_compare(chat, [colours, fruit], input_text="Name something.")
        await all_ended(chat, screen)

        run = screen.run
        assert run is not None
        a, b = screen.columns
        assert [header(chat, a), header(chat, b)] == ["A", "B"]
        for column in (a, b):
            sample = column.column.shown
            assert sample.error is None and sample.text.strip()
            assert " ".join(sample.text.split())[:20] in shown_reply(chat, column)
            assert "tokens" in footer(chat, column) and "tok/s" in footer(chat, column)
        assert colours.label not in chat.text() and fruit.label not in chat.text()

        await chat.press("2")
        assert run.choice is not None
        assert (run.choice.kind, run.choice.letter, run.choice.shown_order) == (
            "preferred",
            "B",
            ("A", "B"),
        )
        assert header(chat, a) == f"A · {a.column.variant.label}"
        assert header(chat, b) == f"B · {b.column.variant.label}  ★ best"
        assert f"You preferred B: {b.column.variant.label}" in chat.text()

        await chat.wait_for_text("Choice saved")
        (event,) = await asyncio.to_thread(chat.app.workspace.feedback.log.events)
        assert event.type == EventType.PAIRWISE and event.choice is not None
        by_id = {c.message_id: c.content for c in event.candidates}
        shown = [by_id[message_id] for message_id in event.choice.shown_order]
        assert shown == [a.column.shown.text, b.column.shown.text]
        assert event.choice.preferred is not None
        assert by_id[event.choice.preferred] == b.column.shown.text

        await chat.press("s")
        await chat.wait_until(lambda: saved, "the variant to save")
        assert saved == [b.column.variant]


async def test_the_embedded_model_loads_then_answers_in_both_columns(
    open_chat, settings, slow_load
):
    tiny = GenerationParams(max_tokens=12, temperature=0.0)
    pair = [
        Variant("smollm2", "Say hi.", params=tiny),
        Variant("smollm2", "Say bye.", "Be brief.", tiny),
    ]
    async with open_chat(settings) as chat:
        screen = CompareScreen(chat.app.workspace, pair, input_text="Greet me.")
        await chat.app.push_screen(screen)
        await chat.wait_for_text("loading smollm2…")
        slow_load.set()
        await all_ended(chat, screen)

        for column in screen.columns:
            sample = column.column.shown
            assert sample.error is None and sample.text.strip()
            assert sample.usage is not None and 0 < (sample.usage.completion_tokens or 0) <= 12
            assert f"{sample.usage.completion_tokens} tokens" in footer(chat, column)
        assert "Which is best? 1-2 (A-B)" in chat.text()


async def test_repeats_show_sample_one_of_two_and_step_between_them(
    open_chat, make_settings, scripted_server
):
    replies = {"Q1": ["First take on one.", "Second take on one."], "Q2": ["Only two."]}
    settings = make_settings(scripted_server.config(replies))
    pair = [Variant("scripted", "Q1"), Variant("scripted", "Q2")]
    async with open_chat(settings) as chat:
        screen = await open_compare(chat, pair, repeats=2, rng=random.Random(0))
        await all_ended(chat, screen)
        column = next(c for c in screen.columns if c.column.variant.user == "Q1")
        column.query_one(".replies").focus()
        first, second = (sample.text for sample in column.column.samples)
        assert {first.strip(), second.strip()} == {"First take on one.", "Second take on one."}
        assert footer(chat, column).startswith("sample 1/2 [ ] ·")
        assert shown_reply(chat, column) == first.strip()

        await chat.press("]")
        assert footer(chat, column).startswith("sample 2/2")
        assert shown_reply(chat, column) == second.strip()
        await chat.press("[")
        assert footer(chat, column).startswith("sample 1/2")

        # More samples from the next run on: three each.
        await chat.press("plus")
        assert "next run ×3 (r)" in chat.text()
        await chat.press("r")
        await chat.wait_until(
            lambda: screen.run is not None and len(screen.run.columns[0].samples) == 3,
            "the run again",
        )
        await all_ended(chat, screen)
        assert all(footer(chat, c).startswith("sample 1/3") for c in screen.columns)
        assert "samples ×3 (+/-)" in chat.text()


def styled(content: Content, style: str) -> list[str]:
    """The texts of content drawn in style."""
    return [content.plain[span.start : span.end] for span in content.spans if span.style == style]


async def test_the_diff_pane_strikes_removed_words_and_marks_added_ones(
    open_chat, make_settings, scripted_server
):
    settings = make_settings(scripted_server.config())
    pair = [
        Variant("scripted", "Explain [b]recursion[/b] simply."),
        Variant("scripted", "Explain [b]recursion[/b] in one sentence.", "Be brief."),
    ]
    async with open_chat(settings) as chat:
        screen = await open_compare(chat, pair, input_text="What is [i]recursion[/i]?")
        await chat.press("d")
        await chat.wait_for_text("Prompt diff prompt 1 → prompt 2")

        diff = screen.query_one("#diff-text", Static).content
        assert isinstance(diff, Content)
        assert "simply" in styled(diff, "strike $text-error")
        added = "".join(styled(diff, "$text-success"))
        assert "in one sentence" in added and "Be brief." in added
        # Prompts and input are text: brackets show as typed, never as markup.
        assert "Explain [b]recursion[/b]" in chat.text()
        assert "What is [i]recursion[/i]?" in chat.text()

        await chat.press("d")
        assert not screen.query_one("#diff").display


async def test_choosing_before_every_reply_ends_is_refused_and_esc_stops_them(
    open_chat, make_settings, scripted_server
):
    slow = " ".join(f"word{n}" for n in range(60))
    settings = make_settings(scripted_server.config({"Talk": [slow]}, delay=0.1))
    pair = [Variant("scripted", "Talk"), Variant("scripted", "Talk", "Be brief.")]
    async with open_chat(settings) as chat:
        screen = await open_compare(chat, pair)
        await chat.wait_until(lambda: "word1 " in chat.text(), "the replies to stream")
        assert [footer(chat, c) for c in screen.columns] == ["streaming…", "streaming…"]

        await chat.press("1")
        await chat.wait_for_text("Wait for every reply to end before choosing")
        run = screen.run
        assert run is not None and run.choice is None
        assert [header(chat, c) for c in screen.columns] == ["A", "B"]
        await chat.press("s")
        await chat.wait_for_text("Choose first")

        await chat.press("escape")
        await chat.wait_until(lambda: screen not in chat.app.screen_stack, "the screen to close")
        await chat.wait_until(lambda: run.done, "the replies to stop")
        reasons = {c.shown.finish_reason for c in run.columns}
        assert reasons == {FinishReason.CANCELLED}


@pytest.mark.parametrize("key", ["t", "x"])
async def test_a_tie_or_all_bad_marks_every_column(open_chat, make_settings, scripted_server, key):
    settings = make_settings(scripted_server.config())
    pair = [Variant("scripted", "One"), Variant("scripted", "Two")]
    async with open_chat(settings) as chat:
        screen = await open_compare(chat, pair)
        await all_ended(chat, screen)
        await chat.press(key)
        mark = {"t": "= tie", "x": "✗ bad"}[key]
        assert all(header(chat, c).endswith(mark) for c in screen.columns)
        assert screen.run is not None and screen.run.choice is not None
        assert screen.run.choice.letter is None


async def test_a_sample_that_fails_shows_why_in_its_column(open_chat, make_settings, fault_server):
    settings = make_settings(fault_server.config("ok"), fault_server.config("server-error"))
    pair = [Variant("fault-ok", "Hi"), Variant("fault-server-error", "Hi")]
    async with open_chat(settings) as chat:
        screen = await open_compare(chat, pair)
        await all_ended(chat, screen)

        failed = next(c for c in screen.columns if c.column.variant.model == "fault-server-error")
        fine = next(c for c in screen.columns if c is not failed)
        error = failed.query_one(".error")
        assert chat.text_of(error).startswith("⚠ ") and "server error 500" in chat.text_of(error)
        assert error.outer_size.height == 1
        assert footer(chat, failed) == "failed"
        assert not fine.query_one(".error").display
        assert "Hello, world!" in shown_reply(chat, fine)
        assert "Which is best?" in chat.text()
        assert SECRET_KEY not in chat.text()
