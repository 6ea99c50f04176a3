"""Pick a prompt template by typing part of its name, title, tags or description ("Use a
template…" with no name given). The library is read in a thread: its first listing checks
every template file."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from chatapp.core.templates import Template, TemplateLibrary
from chatapp.ui.widgets.keys_footer import KeysFooter
from chatapp.ui.worker_failures import toast_failure


class TemplatePickerScreen(ModalScreen[str | None]):
    """The templates that match what is typed; dismisses with the picked one's name, or
    None on escape."""

    CSS_PATH = "template_picker.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Close without using a template"),
        # Before the filter box's own Enter, which would only submit the box.
        Binding("enter", "pick", "Use", tooltip="Fill in the highlighted template", priority=True),
        # From the filter box, the arrows move through the list (the list's own win there).
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
    ]

    def __init__(self, library: TemplateLibrary) -> None:
        super().__init__()
        self.library = library
        self.everything: list[Template] = []
        self.shown: list[Template] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Use a template", id="title")
            yield Input(placeholder="Type to filter by name, title, tag or description")
            yield OptionList(id="templates")
            yield Static("Reading the templates…", id="empty", markup=False)
        yield KeysFooter()

    @property
    def template_list(self) -> OptionList:
        return self.query_one("#templates", OptionList)

    def on_mount(self) -> None:
        self.add_class("-empty")
        self.load()

    @work(exclusive=True, group="template-list", exit_on_error=False)
    async def load(self) -> None:
        self.everything = await asyncio.to_thread(self.library.templates)
        self.show(self.query_one(Input).value)

    @on(Input.Changed)
    def filter_changed(self, event: Input.Changed) -> None:
        self.show(event.value)

    def show(self, query: str) -> None:
        self.shown = [template for template in self.everything if matches(template, query)]
        self.template_list.set_options(
            Option(row(template), id=template.name) for template in self.shown
        )
        if self.shown:
            self.template_list.highlighted = 0
        self.set_class(not self.shown, "-empty")
        empty = f"No template matches “{query.strip()}”." if self.everything else "No templates."
        self.query_one("#empty", Static).update(empty)

    def action_move(self, step: int) -> None:
        if step > 0:
            self.template_list.action_cursor_down()
        else:
            self.template_list.action_cursor_up()

    @on(OptionList.OptionSelected)
    def option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_pick(self) -> None:
        option = self.template_list.highlighted_option
        if option is None:
            self.app.bell()
        else:
            self.dismiss(option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A library that cannot be read is a toast (a ChatappError); a bug is raised."""
        toast_failure(self, event)


def matches(template: Template, query: str) -> bool:
    """Every word of query is in the template's name, title, tags or description (any
    case; words of any script, so 翻译 finds a Chinese title)."""
    where = " ".join((template.name, template.title, template.description, *template.tags))
    where = where.casefold()
    return all(word in where for word in query.casefold().split())


def row(template: Template) -> Content:
    """One template in the list: title, name, tags, and whether it is the user's own."""
    return Content.assemble(
        (template.title or template.name, "bold"),
        "  ",
        (template.name, "$text-muted"),
        ("  " + " ".join(f"#{tag}" for tag in template.tags), "italic $text-muted")
        if template.tags
        else "",
        ("  yours", "$accent") if not template.builtin else "",
    )
