"""The confirm and rename dialogs hand the user's answer back to whoever asked."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Input

from chatapp.ui.screens.confirm import ConfirmScreen
from chatapp.ui.screens.text_prompt import TextPromptScreen

NO_ANSWER = object()


class DialogApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.answer: object = NO_ANSWER

    def record(self, answer: object) -> None:
        self.answer = answer


async def ask(key_presses: tuple[str, ...], default: bool = False) -> object:
    app = DialogApp()
    async with app.run_test() as pilot:
        app.push_screen(ConfirmScreen("Delete “Trip plan”?", default=default), app.record)
        await pilot.pause()
        await pilot.press(*key_presses)
        await pilot.pause()
        return app.answer


async def test_confirm_answers_yes_with_y_and_no_with_n_or_escape() -> None:
    assert await ask(("y",)) is True
    assert await ask(("n",)) is False
    assert await ask(("escape",)) is False


async def test_confirm_enter_picks_the_default_button() -> None:
    assert await ask(("enter",)) is False
    assert await ask(("enter",), default=True) is True


async def test_confirm_buttons_can_be_clicked() -> None:
    app = DialogApp()
    async with app.run_test() as pilot:
        app.push_screen(ConfirmScreen("Delete?"), app.record)
        await pilot.pause()
        await pilot.click("#yes")
        await pilot.pause()
        assert app.answer is True


async def test_confirm_shows_the_question_literally() -> None:
    app = DialogApp()
    async with app.run_test() as pilot:
        app.push_screen(ConfirmScreen("Delete “[b]x”?"), app.record)
        await pilot.pause()
        question = app.screen.query_one("#question")
        assert "Delete “[b]x”?" in str(question.render())


async def test_rename_returns_the_edited_title() -> None:
    app = DialogApp()
    async with app.run_test() as pilot:
        app.push_screen(TextPromptScreen("Rename conversation", "Trip plan"), app.record)
        await pilot.pause()
        assert app.screen.query_one(Input).value == "Trip plan"
        await pilot.press("end", *" to Rome", "enter")
        await pilot.pause()
        assert app.answer == "Trip plan to Rome"


async def test_rename_escape_returns_none() -> None:
    app = DialogApp()
    async with app.run_test() as pilot:
        app.push_screen(TextPromptScreen("Rename conversation", "Trip plan"), app.record)
        await pilot.pause()
        await pilot.press("x", "escape")
        await pilot.pause()
        assert app.answer is None


async def test_rename_ignores_enter_on_a_blank_title() -> None:
    app = DialogApp()
    async with app.run_test() as pilot:
        app.push_screen(TextPromptScreen("Rename conversation", "Trip plan"), app.record)
        await pilot.pause()
        await pilot.press("ctrl+a", "ctrl+k", "enter")
        await pilot.pause()
        assert app.answer is NO_ANSWER
        assert isinstance(app.screen, TextPromptScreen)
