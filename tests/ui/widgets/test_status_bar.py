"""The status line: which model, whose chat, how full the context is, what is going on."""

from __future__ import annotations

from textual.app import App, ComposeResult

from chatapp.ui.widgets.status_bar import StatusBar


class StatusApp(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusBar()


def shown(bar: StatusBar) -> str:
    return bar.render().plain


async def test_shows_model_user_context_speed_and_state() -> None:
    app = StatusApp()
    async with app.run_test() as pilot:
        bar = app.query_one(StatusBar)
        bar.model = "smollm2"
        bar.user = "alice"
        bar.context_used = 1234
        bar.context_total = 8192
        bar.tokens_per_second = 71.3
        bar.state = "generating"
        await pilot.pause()
        assert shown(bar) == "smollm2 · alice · ctx 1,234/8,192 · 71.3 tok/s · generating"
        assert not bar.has_class("-warning")


async def test_starts_idle_without_numbers_it_does_not_have() -> None:
    app = StatusApp()
    async with app.run_test():
        assert shown(app.query_one(StatusBar)) == "idle"


async def test_warns_when_the_context_is_nearly_full() -> None:
    app = StatusApp()
    async with app.run_test() as pilot:
        bar = app.query_one(StatusBar)
        bar.context_total = 8192
        bar.context_used = 7400
        await pilot.pause()
        assert bar.has_class("-warning")
        assert "context nearly full" in shown(bar)
        bar.context_used = 100
        await pilot.pause()
        assert not bar.has_class("-warning")
        assert "context nearly full" not in shown(bar)


async def test_says_how_many_old_messages_were_left_out() -> None:
    app = StatusApp()
    async with app.run_test() as pilot:
        bar = app.query_one(StatusBar)
        bar.dropped = 1
        await pilot.pause()
        assert "1 old message left out" in shown(bar)
        bar.dropped = 12
        await pilot.pause()
        assert "12 old messages left out" in shown(bar)


async def test_model_names_that_look_like_markup_show_literally() -> None:
    app = StatusApp()
    async with app.run_test() as pilot:
        bar = app.query_one(StatusBar)
        bar.model = "[red]evil[/red]"
        await pilot.pause()
        assert shown(bar).startswith("[red]evil[/red] · ")
