"""Save a past message as a prompt template: select the words that change from one use to
the next, ctrl+v makes them a variable, name the template, save.

The message is edited in place: a variable shows as `{{ name }}` where its words were, and
everything else is kept as written, braces included (escaped when saved). MessageDraft
turns the text into a Template; the library checks and saves it, in a thread."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea
from textual.worker import Worker

from chatapp.core.templates import Example, Template, TemplateError, TemplateLibrary, Variable
from chatapp.core.templates.model import VariableType, check_name
from chatapp.ui.screens.text_prompt import TextPromptScreen
from chatapp.ui.widgets.keys_footer import KeysFooter
from chatapp.ui.worker_failures import chatapp_failure

# A variable is a jinja2 name; these would not be read as one (or clash with a global).
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NOT_NAMES = frozenset(
    {"true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if"}
    | {"else", "range", "dict", "lipsum", "cycler", "joiner", "namespace"}
)
# Longer values (or any with a newline) are typed in a text box, shorter ones in a line.
LINE_LENGTH = 60
HINT = "Select words that change from use to use, then ctrl+v makes them a variable."
NO_VARIABLE = "Make at least one variable: select words in the message, then ctrl+v"


def marker(name: str) -> str:
    return "{{ " + name + " }}"


@dataclass
class MessageDraft:
    """The variables made from a message's words so far, in the order made, each with the
    words it replaced (the template's example). The text is the screen's: in it, a
    variable is written `{{ name }}`, and everything else is literal."""

    examples: dict[str, str] = field(default_factory=dict)

    def next_name(self) -> str:
        """`input` for the first variable, then var2, var3…"""
        if not self.examples:
            return "input"
        number = len(self.examples) + 1
        while f"var{number}" in self.examples:
            number += 1
        return f"var{number}"

    def name_problem(self, name: str, text: str, value: str) -> str | None:
        """Why name cannot name the variable for value in text (None: it can)."""
        if not _IDENTIFIER.fullmatch(name) or name in _NOT_NAMES:
            return f"'{name}' cannot be a variable name: letters, digits and _, not a digit first"
        if marker(name) not in text:
            return None
        known = self.examples.get(name)
        if known is None:
            return f"the message has “{marker(name)}” in it already: pick another name"
        if known != value:
            return f"'{name}' already stands for “{shorten(known)}”"
        return None  # the same words again: one more place for the same variable

    def add(self, name: str, value: str) -> None:
        # A name whose words were edited out of the message is free to stand for others.
        self.examples[name] = value

    def used(self, text: str) -> list[str]:
        """The variables still in text, in the order made (the first is the main one)."""
        return [name for name in self.examples if marker(name) in text]

    def template(
        self,
        text: str,
        *,
        name: str,
        title: str = "",
        description: str = "",
        tags: tuple[str, ...] = (),
        system: str = "",
        output: str = "",
    ) -> Template:
        """The template text makes; TemplateError when it has no variable."""
        used = self.used(text)
        if not used:
            raise TemplateError(NO_VARIABLE)
        variables = {
            variable: Variable(variable, type=value_type(self.examples[variable]))
            for variable in used
        }
        return Template(
            name=name,
            title=title or name.replace("-", " ").replace("_", " ").capitalize(),
            main=used[0],
            user=self.jinja(text, used),
            system=literal(system) if system.strip() else "",
            description=description,
            tags=tags,
            variables=variables,
            example=Example({variable: self.examples[variable] for variable in used}, output),
        )

    @staticmethod
    def jinja(text: str, used: list[str]) -> str:
        """text as jinja2: the variables' markers kept, every other piece literal."""
        markers = re.compile("|".join(re.escape(marker(name)) for name in used))
        pieces: list[str] = []
        start = 0
        for found in markers.finditer(text):
            pieces += [literal(text[start : found.start()]), found.group()]
            start = found.end()
        pieces.append(literal(text[start:]))
        return "".join(pieces)


def literal(text: str) -> str:
    """jinja2 that renders to text (escaped only when it has braces, to stay readable)."""
    if "{" not in text and "}" not in text:
        return text
    # The importer's module loads the checker and the store: not before a template is saved.
    from chatapp.core.templates.patterns import escape_jinja

    return escape_jinja(text)


def value_type(value: str) -> VariableType:
    return "text" if "\n" in value or len(value) > LINE_LENGTH else "line"


def shorten(text: str, width: int = 30) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


class SaveTemplateScreen(ModalScreen[Template | None]):
    """A message made into a template; dismisses with the saved Template, or None on
    escape."""

    CSS_PATH = "save_template.tcss"
    # On a short terminal the message box is smaller, so the name fields show unscrolled.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Close without saving"),
        # Over the message box's paste: there, ctrl+v makes a variable (elsewhere it pastes).
        Binding(
            "ctrl+v",
            "make_variable",
            "Make variable",
            tooltip="Turn the selected words of the message into a variable",
            priority=True,
        ),
        Binding("ctrl+s", "save", "Save", tooltip="Save the template"),
    ]

    def __init__(
        self, library: TemplateLibrary, text: str, suggested_name: str = "", *, reply: str = ""
    ) -> None:
        super().__init__()
        self.library = library
        self.message_text = text
        self.suggested_name = suggested_name
        # The reply the message got: the example's output.
        self.reply = reply
        self.draft = MessageDraft()
        self.known: dict[str, Template] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Save as template", id="heading")
            with VerticalScroll(id="form"):
                yield Static(HINT, id="hint", markup=False)
                yield TextArea(self.message_text, id="message")
                yield Static("", id="variables")
                for label, name, value, placeholder in (
                    ("Name", "name", self.suggested_name, "letters, digits, - _ ."),
                    ("Title", "title", "", "what it does, in a few words"),
                    ("Description", "description", "", "one line"),
                    ("Tags", "tags", "", "comma-separated, e.g. writing, chinese"),
                ):
                    with Horizontal(classes="row"):
                        yield Label(label)
                        yield Input(value, placeholder=placeholder, compact=True, id=name)
                yield Label("System prompt (optional, kept as written)", id="system-label")
                yield TextArea(id="system")
            yield Static("", id="why", markup=False)
            # The buttons run the same actions as their keys.
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel", compact=True, action="screen.cancel")
                yield Button(
                    "Save",
                    id="save",
                    variant="primary",
                    compact=True,
                    disabled=True,
                    action="screen.save",
                )
        yield KeysFooter()

    @property
    def message(self) -> TextArea:
        return self.query_one("#message", TextArea)

    def field(self, name: str) -> str:
        return self.query_one(f"#{name}", Input).value.strip()

    def on_mount(self) -> None:
        self.message.focus(scroll_visible=False)
        self.check()
        self.load_known()

    @work(exclusive=True, group="template-list", exit_on_error=False)
    async def load_known(self) -> None:
        templates = await asyncio.to_thread(self.library.templates)
        self.known = {template.name: template for template in templates}
        self.check()

    # -- what Save would do, or why it cannot ---------------------------------------------

    @on(TextArea.Changed, "#message")
    @on(Input.Changed, "#name")
    def changed(self) -> None:
        self.check()

    def check(self) -> None:
        used = self.draft.used(self.message.text)
        self.query_one("#variables", Static).update(variables_line(self.draft, used))
        why = self.why_not(used)
        self.query_one("#save", Button).disabled = why is not None
        self.set_class(why is not None, "-cannot")
        self.query_one("#why", Static).update(why or self.what_saving_does())

    def why_not(self, used: list[str]) -> str | None:
        if not used:
            return NO_VARIABLE
        name = self.field("name")
        if not name:
            return "Give the template a name"
        try:
            check_name(name)
        except TemplateError as error:
            return str(error)
        return None

    def what_saving_does(self) -> str:
        name = self.field("name")
        existing = self.known.get(name)
        if existing is None:
            return f"Saves a new template of yours: {name}"
        if existing.builtin:
            return f"Yours will be used instead of the built-in template '{name}'"
        number = (existing.version or 1) + 1
        return f"You have a template '{name}': saving makes version {number} (the old one is kept)"

    # -- making a variable ----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "make_variable":
            # Anywhere but the message, ctrl+v is the box's own paste.
            return self.focused is self.message
        return True

    @work(group="make-variable", exit_on_error=False)
    async def action_make_variable(self) -> None:
        area = self.message
        selection, value = area.selection, area.selected_text
        if not value.strip():
            self.notify("Select the words to make a variable first", severity="warning")
            return
        if any(marker(name) in value for name in self.draft.examples):
            self.notify("The selection holds a variable already", severity="warning")
            return
        name = await self.ask_name(value)
        if name is None:
            return
        self.draft.add(name, value)
        area.replace(marker(name), selection.start, selection.end, maintain_selection_offset=False)
        area.focus()

    async def ask_name(self, value: str) -> str | None:
        """The name the user gives the variable for value (asked again while it cannot
        be one); None when they cancel."""
        question = f"Name the variable for “{shorten(value)}”"
        name = self.draft.next_name()
        while True:
            answer = await self.app.push_screen_wait(TextPromptScreen(question, name))
            if answer is None:
                return None
            problem = self.draft.name_problem(answer, self.message.text, value)
            if problem is None:
                return answer
            question, name = f"{problem}. Name the variable for “{shorten(value)}”", answer

    # -- saving ---------------------------------------------------------------------------

    def action_save(self) -> None:
        why = self.why_not(self.draft.used(self.message.text))
        if why is not None:
            self.app.bell()
            self.query_one("#why", Static).update(why)
            return
        tags = tuple(tag.strip() for tag in self.field("tags").split(",") if tag.strip())
        template = self.draft.template(
            self.message.text,
            name=self.field("name"),
            title=self.field("title"),
            description=self.field("description"),
            tags=tags,
            system=self.query_one("#system", TextArea).text,
            output=self.reply,
        )
        self.save(template)

    @work(exclusive=True, group="save-template", exit_on_error=False)
    async def save(self, template: Template) -> None:
        saved = await asyncio.to_thread(self.library.save, template)
        self.notify(saved_notice(saved), markup=False)
        self.dismiss(saved)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A template the library would not save says why under the form (a ChatappError);
        anything else is a bug and is raised."""
        if (error := chatapp_failure(event)) is not None:
            self.set_class(True, "-cannot")
            self.query_one("#why", Static).update(str(error))
            self.app.bell()


def variables_line(draft: MessageDraft, used: list[str]) -> Content:
    """The variables made so far and the words each stands for in the example."""
    if not used:
        return Content.styled("No variables yet.", "$text-muted")
    parts: list[Content] = []
    for number, name in enumerate(used):
        kind = value_type(draft.examples[name])
        role = f"main, {kind}" if number == 0 else kind
        parts.append(
            Content.assemble(
                (marker(name), "bold"),
                (f" ({role})", "$text-muted"),
                f" = “{shorten(draft.examples[name])}”",
            )
        )
    return Content.assemble(("Variables: ", "bold"), Content("  ·  ").join(parts))


def saved_notice(saved: Template) -> str:
    if saved.version is None or saved.version <= 1:
        return f"Saved template '{saved.name}'"
    return (
        f"Saved template '{saved.name}' as version {saved.version}; earlier versions are "
        f"kept (chatapp templates history {saved.name})"
    )
