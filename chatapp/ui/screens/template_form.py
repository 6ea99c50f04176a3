"""Fill a prompt template in: one field per variable, and beside them (below them on a
narrow terminal) the prompt they make and its size in tokens, as you type.

Rendering is the library's (core/templates); this screen gathers the values and shows
what they make. The preview is rendered and counted in a thread a moment after the last
change, so a big paste is rendered once, not once per key."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static, TextArea
from textual.worker import Worker

from chatapp.core.backends.base import ChatMessage
from chatapp.core.context import TokenCounter, estimate_tokens
from chatapp.core.errors import ChatappError
from chatapp.core.templates import (
    MissingVariables,
    Rendered,
    Template,
    TemplateError,
    TemplateLibrary,
    Variable,
)
from chatapp.ui.widgets.keys_footer import KeysFooter
from chatapp.ui.worker_failures import toast_failure

# How long the preview waits after a change before rendering (a change within it starts
# the wait again).
PREVIEW_DELAY = 0.15
# From this many columns on, the preview sits beside the fields; below them when narrower.
WIDE = 100


@dataclass(frozen=True, slots=True)
class FormResult:
    """A filled-in template: the prompt it made and the values it was made from."""

    template: Template
    rendered: Rendered
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class Preview:
    """What the preview pane shows for one set of values."""

    # The prompt, when it can be sent as it is; else problem says why not.
    rendered: Rendered | None
    # What to show: the prompt, or one with a placeholder where a value is missing.
    shown: Rendered | None
    problem: str = ""
    tokens: int = 0
    exact: bool = False


class TemplateFormScreen(ModalScreen[FormResult | None]):
    """One field per variable of a template (the main one first); dismisses with the
    rendered prompt on ctrl+s or Send, None on escape."""

    CSS_PATH = "template_form.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE, "-wide")]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Close without sending"),
        Binding("ctrl+s", "send", "Send", tooltip="Send the prompt as the preview shows it"),
    ]

    def __init__(
        self,
        template: Template,
        library: TemplateLibrary,
        count_tokens: TokenCounter | None = None,
        initial: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.template = template
        self.library = library
        self.count_tokens = count_tokens
        self.initial = dict(initial or {})
        self.fields: dict[str, TextArea | Input | Select[str]] = {}
        self.preview = Preview(None, None)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(heading(self.template), id="title")
            if self.template.description:
                yield Static(self.template.description, id="description", markup=False)
            with Container(id="body"):
                with VerticalScroll(id="fields"):
                    for variable in in_order(self.template):
                        yield Label(field_label(variable), classes="field-label")
                        yield self.field(variable)
                with Vertical(id="preview-pane"):
                    yield Static("Preview", id="preview-head")
                    yield Static("", id="notice", markup=False)
                    with VerticalScroll(id="preview-scroll"):
                        yield Static("", id="preview")
            # The buttons run the same actions as their keys.
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel", compact=True, action="screen.cancel")
                yield Button(
                    "Send",
                    id="send",
                    variant="primary",
                    compact=True,
                    disabled=True,
                    action="screen.send",
                )
        yield KeysFooter()

    def field(self, variable: Variable) -> Widget:
        """The widget for a variable, holding its initial value or else its default."""
        value = self.initial.get(variable.name)
        if value is None:
            value = "" if variable.default is None else str(variable.default)
        name = f"var-{variable.name}"
        widget: TextArea | Input | Select[str]
        if variable.type == "choice":
            widget = Select(
                [(choice, choice) for choice in variable.choices],
                value=value if value in variable.choices else Select.NULL,
                allow_blank=value not in variable.choices,
                compact=True,
                id=name,
            )
        elif variable.name == self.template.main or variable.type == "text":
            widget = TextArea(value, id=name, classes="-text")
            widget.set_class(variable.name == self.template.main, "-main")
        else:
            number = variable.type == "number"
            widget = Input(value, type="number" if number else "text", compact=True, id=name)
        self.fields[variable.name] = widget
        return widget

    def on_mount(self) -> None:
        main = self.fields.get(self.template.main)
        if isinstance(main, TextArea):
            main.move_cursor(main.document.end)
        if main is not None:
            # Not scrolled to: that would hide its label above it on a short terminal.
            main.focus(scroll_visible=False)
        self.refresh_preview()

    def values(self) -> dict[str, str]:
        """What each field holds now ('' for a choice not made)."""
        return {name: value_of(widget) for name, widget in self.fields.items()}

    # -- the preview ----------------------------------------------------------------------

    @on(TextArea.Changed)
    @on(Input.Changed)
    @on(Select.Changed)
    def field_changed(self) -> None:
        self.refresh_preview()

    @work(exclusive=True, group="template-preview", exit_on_error=False)
    async def refresh_preview(self) -> None:
        # Exclusive: a change during the wait cancels it, so only the last one renders.
        await asyncio.sleep(PREVIEW_DELAY)
        self.show(await asyncio.to_thread(self.render_preview, self.values()))

    def render_preview(self, values: dict[str, str]) -> Preview:
        """In a thread: the prompt for values and its size, or why it cannot be sent."""
        try:
            rendered = self.library.render(self.template, values)
        except MissingVariables as error:
            return Preview(None, self.with_placeholders(values, error.names), str(error))
        except TemplateError as error:
            return Preview(None, None, str(error))
        tokens, exact = self.token_count(rendered)
        return Preview(rendered, rendered, "", tokens, exact)

    def with_placeholders(self, values: dict[str, str], missing: list[str]) -> Rendered | None:
        """The prompt with ‹name› where a text value is missing (None when that cannot
        render either: a choice not made)."""
        filled = dict(values)
        for name in missing:
            filled[name] = f"‹{name}›"
        try:
            return self.library.render(self.template, filled)
        except TemplateError:
            return None

    def token_count(self, rendered: Rendered) -> tuple[int, bool]:
        """The prompt's tokens, and whether they were counted (else estimated)."""
        messages: list[ChatMessage] = []
        if rendered.system:
            messages.append({"role": "system", "content": rendered.system})
        messages.append({"role": "user", "content": rendered.user})
        try:
            counted = self.count_tokens(messages) if self.count_tokens is not None else None
        except ChatappError:
            counted = None  # a model that cannot load cannot count: the preview estimates
        if counted is None:
            return estimate_tokens(messages), False
        return counted, True

    def show(self, preview: Preview) -> None:
        self.preview = preview
        head = Content.styled("Preview", "bold")
        if preview.rendered is not None:
            count = f"{preview.tokens} tokens" if preview.exact else f"≈ {preview.tokens} tokens"
            head = Content.assemble(head, " · ", (count, "$text-muted"))
        self.query_one("#preview-head", Static).update(head)
        self.query_one("#notice", Static).update(preview.problem)
        self.set_class(bool(preview.problem), "-problem")
        self.query_one("#preview", Static).update(prompt_text(preview.shown))
        self.query_one("#send", Button).disabled = preview.rendered is None

    # -- sending --------------------------------------------------------------------------

    def action_send(self) -> None:
        # The values as they are now: the preview may be a moment behind the last key.
        values = self.values()
        try:
            rendered = self.library.render(self.template, values)
        except TemplateError as error:
            self.app.bell()
            self.show(Preview(None, self.preview.shown, str(error)))
            return
        self.dismiss(FormResult(self.template, rendered, values))

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed preview is told as a toast (a ChatappError) or raised (a bug)."""
        toast_failure(self, event)


def in_order(template: Template) -> list[Variable]:
    """The main variable first, then the others as declared."""
    variables = list(template.variables.values())
    return sorted(variables, key=lambda variable: variable.name != template.main)


def value_of(widget: TextArea | Input | Select[str]) -> str:
    if isinstance(widget, TextArea):
        return widget.text
    if isinstance(widget, Input):
        return widget.value
    return "" if widget.is_blank() else str(widget.value)


def heading(template: Template) -> Content:
    version = f" v{template.version}" if template.version else ""
    return Content.assemble(
        (template.title or template.name, "bold"),
        "  ",
        (f"{template.name}{version}", "$text-muted"),
        ("  yours", "$accent") if not template.builtin else "",
    )


def field_label(variable: Variable) -> Content:
    return Content.assemble(
        (variable.name, "bold"),
        ("  " + variable.description, "$text-muted") if variable.description else "",
        ("  (optional)", "italic $text-muted") if not variable.required else "",
    )


def prompt_text(rendered: Rendered | None) -> Content:
    """The user and system prompt under their headings, as plain text (no markup)."""
    if rendered is None:
        return Content("")
    # The user's part first: it holds what is being typed, and system prompts run long.
    parts: list[str | tuple[str, str]] = [("User", "bold $secondary"), "\n", rendered.user]
    if rendered.system:
        parts += ["\n\n", ("System", "bold $secondary"), "\n", rendered.system]
    return Content.assemble(*parts)
