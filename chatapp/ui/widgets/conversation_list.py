"""The sidebar: a filter box over the user's conversations, grouped by day."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar, Protocol

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

FILTER_DEBOUNCE = 0.15


class ConversationSummaryLike(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def updated(self) -> float: ...


def day_label(day: date, today: date) -> str:
    """The header a day is listed under: Today, Yesterday, a weekday, then a date."""
    age = (today - day).days
    if age <= 0:
        return "Today"
    if age == 1:
        return "Yesterday"
    if age < 7:
        return day.strftime("%A")
    if day.year == today.year:
        return f"{day.day} {day:%B}"
    return f"{day.day} {day:%B %Y}"


class ConversationList(Widget):
    """Conversations newest first under day headers, with a filter box on top.

    The widget never searches: it posts `FilterChanged` and the screen answers with
    `show()`.
    """

    DEFAULT_CSS = """
    ConversationList {
        width: 32;
        height: 1fr;
        & > OptionList {
            height: 1fr;
            text-wrap: nowrap;
            text-overflow: ellipsis;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("delete", "request_delete", "Delete"),
        Binding("f2,r", "request_rename", "Rename"),
        Binding("down", "focus_list", "Conversations", show=False),
    ]

    current_id: reactive[str | None] = reactive(None, init=False)
    """The conversation open on the screen; it is marked and highlighted."""

    @dataclass
    class _AboutConversation(Message):
        conversation_list: ConversationList
        conversation_id: str

        @property
        def control(self) -> ConversationList:
            return self.conversation_list

    class Selected(_AboutConversation):
        """The user chose a conversation (Enter or click)."""

    class DeleteRequested(_AboutConversation):
        """The user asked to delete the highlighted conversation."""

    class RenameRequested(_AboutConversation):
        """The user asked to rename the highlighted conversation."""

    @dataclass
    class FilterChanged(Message):
        """The filter text settled after typing; answer with `show()`."""

        conversation_list: ConversationList
        text: str

        @property
        def control(self) -> ConversationList:
            return self.conversation_list

    def __init__(
        self,
        *,
        today: Callable[[], date] = date.today,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._today = today
        self._summaries: list[ConversationSummaryLike] = []
        self._filter_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Input(placeholder="Search conversations…")
        yield OptionList(markup=False)

    def on_mount(self) -> None:
        self._refresh_options(highlight_id=None)

    @property
    def filter_text(self) -> str:
        return self.query_one(Input).value

    @property
    def highlighted_id(self) -> str | None:
        option = self.query_one(OptionList).highlighted_option
        return option.id if option is not None else None

    def show(
        self, summaries: Iterable[ConversationSummaryLike], *, keep_highlight: bool = True
    ) -> None:
        """Replace the listed conversations; the list sorts them newest first."""
        highlight_id = self.highlighted_id if keep_highlight else None
        self._summaries = sorted(summaries, key=lambda summary: summary.updated, reverse=True)
        self._refresh_options(highlight_id)

    def watch_current_id(self) -> None:
        if self.is_mounted:
            self._refresh_options(highlight_id=self.current_id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("request_delete", "request_rename"):
            return self.query_one(OptionList).has_focus and self.highlighted_id is not None
        return True

    def action_request_delete(self) -> None:
        if (conversation_id := self.highlighted_id) is not None:
            self.post_message(self.DeleteRequested(self, conversation_id))

    def action_request_rename(self) -> None:
        if (conversation_id := self.highlighted_id) is not None:
            self.post_message(self.RenameRequested(self, conversation_id))

    def focus_filter(self) -> None:
        """Put the cursor in the search box, e.g. for a screen's ctrl+f."""
        self.query_one(Input).focus()

    def action_focus_list(self) -> None:
        self.query_one(OptionList).focus()

    @on(Input.Changed)
    def _restart_filter_timer(self, event: Input.Changed) -> None:
        event.stop()
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DEBOUNCE, self._post_filter_changed)

    @on(Input.Submitted)
    def _focus_results(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_focus_list()

    @on(OptionList.OptionSelected)
    def _post_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(self.Selected(self, event.option.id))

    @on(OptionList.OptionHighlighted)
    def _update_bindings(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self.refresh_bindings()

    def _post_filter_changed(self) -> None:
        self._filter_timer = None
        self.post_message(self.FilterChanged(self, self.filter_text))

    def _refresh_options(self, highlight_id: str | None) -> None:
        option_list = self.query_one(OptionList)
        option_list.set_options(self._build_options())
        listed = {summary.id for summary in self._summaries}
        for candidate in (highlight_id, self.current_id):
            if candidate in listed:
                option_list.highlighted = option_list.get_option_index(candidate)
                break
        else:
            option_list.action_first()
        self.refresh_bindings()

    def _build_options(self) -> list[Option]:
        if not self._summaries:
            empty = "No matches" if self.filter_text.strip() else "No conversations yet"
            return [Option(Content.styled(empty, "italic"), disabled=True)]
        today = self._today()
        options: list[Option] = []
        previous_label = None
        for summary in self._summaries:
            label = day_label(datetime.fromtimestamp(summary.updated).date(), today)
            if label != previous_label:
                options.append(Option(Content.styled(label, "bold"), disabled=True))
                previous_label = label
            options.append(Option(self._prompt(summary), id=summary.id))
        return options

    def _prompt(self, summary: ConversationSummaryLike) -> Content:
        title = " ".join(summary.title.split()) or "Untitled"
        if summary.id == self.current_id:
            return Content.assemble(("● ", "$accent"), (title, "bold"))
        return Content.assemble("  ", title)
