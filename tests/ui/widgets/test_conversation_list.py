"""The sidebar: conversations by day, a filter box, keys to open, delete and rename."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from textual import on
from textual.app import App, ComposeResult
from textual.message import Message
from textual.widgets import Input, OptionList

from chatapp.ui.widgets.conversation_list import ConversationList, day_label

TODAY = date(2026, 3, 12)


@dataclass(frozen=True)
class Summary:
    id: str
    title: str
    updated: float
    created: float = 0.0
    model: str = "smollm2"
    message_count: int = 2


def at(days_ago: int, hour: int = 12) -> float:
    moment = datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time())
    return moment.replace(hour=hour).timestamp()


class SidebarApp(App[None]):
    def __init__(self, summaries: list[Summary]) -> None:
        super().__init__()
        self.summaries = summaries
        self.received: list[Message] = []

    def compose(self) -> ComposeResult:
        yield ConversationList(today=lambda: TODAY)

    def on_mount(self) -> None:
        self.query_one(ConversationList).show(self.summaries)

    @on(ConversationList.Selected)
    @on(ConversationList.FilterChanged)
    @on(ConversationList.DeleteRequested)
    @on(ConversationList.RenameRequested)
    def record(self, event: Message) -> None:
        self.received.append(event)


def lines(app: SidebarApp) -> list[str]:
    options = app.query_one(ConversationList).query_one(OptionList).options
    return [str(option.prompt).strip() for option in options]


def received(app: SidebarApp, kind: type[Message]) -> list[Message]:
    return [event for event in app.received if isinstance(event, kind)]


SUMMARIES = [
    Summary("old", "Tax questions", at(40)),
    Summary("today-early", "Morning chat", at(0, hour=8)),
    Summary("yesterday", "Recipe ideas", at(1)),
    Summary("today-late", "Evening chat", at(0, hour=20)),
    Summary("three-days", "Trip plan", at(3)),
]


async def test_conversations_are_listed_newest_first_under_day_headers() -> None:
    app = SidebarApp(SUMMARIES)
    async with app.run_test():
        assert lines(app) == [
            "Today",
            "Evening chat",
            "Morning chat",
            "Yesterday",
            "Recipe ideas",
            (TODAY - timedelta(days=3)).strftime("%A"),
            "Trip plan",
            "31 January",
            "Tax questions",
        ]


def test_day_headers_name_recent_days_and_date_older_ones() -> None:
    assert day_label(TODAY, TODAY) == "Today"
    assert day_label(TODAY - timedelta(days=1), TODAY) == "Yesterday"
    assert day_label(date(2026, 3, 6), TODAY) == "Friday"
    assert day_label(date(2026, 3, 5), TODAY) == "5 March"
    assert day_label(date(2025, 12, 24), TODAY) == "24 December 2025"


async def test_headers_cannot_be_chosen() -> None:
    app = SidebarApp(SUMMARIES)
    async with app.run_test() as pilot:
        sidebar = app.query_one(ConversationList)
        sidebar.action_focus_list()
        await pilot.press("home")
        assert sidebar.highlighted_id == "today-late"
        await pilot.press("down", "down")
        assert sidebar.highlighted_id == "yesterday"


async def test_enter_on_a_conversation_opens_it() -> None:
    app = SidebarApp(SUMMARIES)
    async with app.run_test() as pilot:
        app.query_one(ConversationList).action_focus_list()
        await pilot.press("down", "enter")
        await pilot.pause()
        chosen = received(app, ConversationList.Selected)
        assert [event.conversation_id for event in chosen] == ["today-early"]


async def test_clicking_a_conversation_opens_it() -> None:
    app = SidebarApp(SUMMARIES)
    async with app.run_test() as pilot:
        option_list = app.query_one(ConversationList).query_one(OptionList)
        await pilot.click(option_list, offset=(4, 5))
        await pilot.pause()
        chosen = received(app, ConversationList.Selected)
        assert [event.conversation_id for event in chosen] == ["yesterday"]


async def test_typing_in_the_filter_asks_for_a_search_once_typing_settles() -> None:
    app = SidebarApp(SUMMARIES)
    async with app.run_test() as pilot:
        await pilot.click(Input)
        await pilot.press(*"trip")
        await pilot.pause(0.3)
        searches = received(app, ConversationList.FilterChanged)
        assert searches[-1].text == "trip"
        assert len(searches) < len("trip")


async def test_search_shortcut_puts_the_cursor_in_the_filter_and_enter_goes_to_results() -> None:
    app = SidebarApp(SUMMARIES)
    async with app.run_test() as pilot:
        sidebar = app.query_one(ConversationList)
        sidebar.focus_filter()
        await pilot.press(*"chat", "enter")
        assert app.query_one(Input).value == "chat"
        assert app.focused is sidebar.query_one(OptionList)


async def test_empty_list_says_why_it_is_empty() -> None:
    app = SidebarApp([])
    async with app.run_test() as pilot:
        sidebar = app.query_one(ConversationList)
        assert lines(app) == ["No conversations yet"]
        await pilot.click(Input)
        await pilot.press(*"zebra")
        sidebar.show([])
        assert lines(app) == ["No matches"]


async def test_delete_and_rename_keys_ask_about_the_highlighted_conversation() -> None:
    app = SidebarApp(SUMMARIES)
    async with app.run_test() as pilot:
        app.query_one(ConversationList).action_focus_list()
        await pilot.press("down", "delete", "f2", "r")
        await pilot.pause()
        deletes = received(app, ConversationList.DeleteRequested)
        renames = received(app, ConversationList.RenameRequested)
        assert [event.conversation_id for event in deletes] == ["today-early"]
        assert [event.conversation_id for event in renames] == ["today-early"] * 2


async def test_r_in_the_filter_box_is_just_a_letter() -> None:
    app = SidebarApp(SUMMARIES)
    async with app.run_test() as pilot:
        await pilot.click(Input)
        await pilot.press("r", "delete")
        await pilot.pause()
        assert app.query_one(Input).value == "r"
        assert received(app, ConversationList.RenameRequested) == []
        assert received(app, ConversationList.DeleteRequested) == []


async def test_titles_with_markup_show_literally() -> None:
    app = SidebarApp([Summary("x", "[bold]x[/bold] and [link=evil]y", at(0))])
    async with app.run_test():
        assert lines(app)[1] == "[bold]x[/bold] and [link=evil]y"


async def test_the_open_conversation_is_marked_and_highlighted() -> None:
    app = SidebarApp(SUMMARIES)
    async with app.run_test() as pilot:
        sidebar = app.query_one(ConversationList)
        sidebar.current_id = "three-days"
        await pilot.pause()
        assert sidebar.highlighted_id == "three-days"
        assert "● Trip plan" in lines(app)
        assert "Evening chat" in lines(app)


async def test_refreshing_the_list_keeps_the_highlight_where_it_was() -> None:
    app = SidebarApp(SUMMARIES)
    async with app.run_test() as pilot:
        sidebar = app.query_one(ConversationList)
        sidebar.action_focus_list()
        await pilot.press("down", "down")
        sidebar.show([*SUMMARIES, Summary("new", "Brand new", at(0, hour=22))])
        assert sidebar.highlighted_id == "yesterday"
        sidebar.show(SUMMARIES, keep_highlight=False)
        assert sidebar.highlighted_id == "today-late"
