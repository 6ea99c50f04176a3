"""The message box: Enter sends, ctrl+j breaks lines, Up/Down walk past prompts."""

from __future__ import annotations

import time

from textual import events, on
from textual.app import App, ComposeResult

from chatapp.ui.widgets.prompt_input import PromptInput


class PromptApp(App[None]):
    def __init__(self, history: list[str] | None = None) -> None:
        super().__init__()
        self.history = history or []
        self.sent: list[str] = []

    def compose(self) -> ComposeResult:
        yield PromptInput(history=self.history)

    @on(PromptInput.Submitted)
    def record(self, event: PromptInput.Submitted) -> None:
        self.sent.append(event.text)


async def test_enter_sends_the_message_and_leaves_it_in_the_box() -> None:
    app = PromptApp()
    async with app.run_test() as pilot:
        await pilot.press(*"hello", "enter")
        await pilot.pause()
        assert app.sent == ["hello"]
        assert app.query_one(PromptInput).text == "hello"


async def test_enter_on_a_blank_box_sends_nothing() -> None:
    app = PromptApp()
    async with app.run_test() as pilot:
        await pilot.press("space", "space", "enter")
        await pilot.pause()
        assert app.sent == []


async def test_ctrl_j_and_shift_enter_start_a_new_line() -> None:
    app = PromptApp()
    async with app.run_test() as pilot:
        await pilot.press("a", "ctrl+j", "b", "shift+enter", "c")
        assert app.query_one(PromptInput).text == "a\nb\nc"
        await pilot.press("enter")
        await pilot.pause()
        assert app.sent == ["a\nb\nc"]


async def test_up_recalls_earlier_prompts_and_down_brings_back_the_draft() -> None:
    app = PromptApp(history=["first", "second"])
    async with app.run_test() as pilot:
        prompt = app.query_one(PromptInput)
        await pilot.press(*"half-written")
        await pilot.press("up")
        assert prompt.text == "second"
        await pilot.press("up")
        assert prompt.text == "first"
        await pilot.press("up")
        assert prompt.text == "first"
        await pilot.press("down")
        assert prompt.text == "second"
        await pilot.press("down")
        assert prompt.text == "half-written"
        assert prompt.cursor_location == (0, len("half-written"))


async def test_sent_prompts_are_remembered_for_recall() -> None:
    app = PromptApp()
    async with app.run_test() as pilot:
        prompt = app.query_one(PromptInput)
        await pilot.press(*"what is 2+2", "enter")
        await pilot.pause()
        prompt.remember(app.sent[-1])
        prompt.clear()
        await pilot.press("up")
        assert prompt.text == "what is 2+2"
        assert prompt.prompt_history == ["what is 2+2"]


async def test_up_inside_a_multi_line_message_moves_the_cursor_first() -> None:
    app = PromptApp(history=["older"])
    async with app.run_test() as pilot:
        prompt = app.query_one(PromptInput)
        await pilot.press("a", "ctrl+j", "b", "up")
        assert prompt.text == "a\nb"
        assert prompt.cursor_location[0] == 0
        await pilot.press("up")
        assert prompt.text == "older"
        await pilot.press("down")
        assert prompt.text == "a\nb"


async def test_shows_a_hint_and_grows_with_its_content_up_to_a_limit() -> None:
    app = PromptApp()
    async with app.run_test(size=(80, 40)) as pilot:
        prompt = app.query_one(PromptInput)
        assert "Enter to send" in str(prompt.placeholder)
        empty_height = prompt.outer_size.height
        await pilot.press("x", "ctrl+j", "y", "ctrl+j", "z")
        await pilot.pause()
        assert prompt.outer_size.height == empty_height + 2
        for _ in range(30):
            await pilot.press("ctrl+j")
        await pilot.pause()
        assert prompt.outer_size.height == 10


async def test_pasting_a_megabyte_keeps_every_character() -> None:
    line = "The quick brown fox jumps over the lazy dog. " * 2 + "\n"
    pasted = line * (1_000_000 // len(line))
    app = PromptApp()
    async with app.run_test() as pilot:
        started = time.perf_counter()
        app.post_message(events.Paste(pasted))
        await pilot.pause()
        elapsed = time.perf_counter() - started
        assert app.query_one(PromptInput).text == pasted
        assert elapsed < 5, f"pasting 1 MB took {elapsed:.2f}s"
        await pilot.press("enter")
        await pilot.pause()
        assert app.sent == [pasted]
