"""Setting up a comparison: the input, and 2 to 4 variants (a template or the input as
typed, a model, a temperature), then how many samples of each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from chatapp.core.practice import MAX_REPEATS, MAX_VARIANTS, MIN_VARIANTS
from chatapp.ui.widgets.keys_footer import KeysFooter

AS_TYPED = ""


@dataclass(frozen=True, slots=True)
class VariantChoice:
    """One row of the setup: a template name (or AS_TYPED), a model, a temperature."""

    template: str
    model: str
    temperature: float | None


@dataclass(frozen=True, slots=True)
class CompareSetup:
    input_text: str
    variants: list[VariantChoice]
    repeats: int


class CompareSetupScreen(ModalScreen[CompareSetup | None]):
    """Dismisses with the setup on ctrl+s or Start, None on escape."""

    CSS_PATH = "compare_setup.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "start", "Start", priority=True),
        Binding("ctrl+a", "add_variant", "Add variant"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(
        self,
        templates: Sequence[tuple[str, str]],
        models: Sequence[str],
        *,
        input_text: str = "",
        first_template: str = AS_TYPED,
    ) -> None:
        """templates: (name, title) pairs; models: configured model names, default first."""
        super().__init__()
        self.templates = list(templates)
        self.models = list(models)
        self.input_text = input_text
        self.first_template = first_template

    def compose(self) -> ComposeResult:
        with Vertical(id="setup"):
            yield Static("Compare prompts", classes="title")
            yield Label("Input (the template's main variable, or the prompt as typed)")
            yield TextArea(self.input_text, id="input", soft_wrap=True)
            with VerticalScroll(id="variants"):
                yield self._row(self.first_template)
                yield self._row(AS_TYPED if self.first_template else self._other_template())
            with Horizontal(id="actions"):
                yield Label("Samples of each")
                yield Input("1", id="repeats", type="integer", max_length=1)
                yield Button("Add variant", id="add")
                yield Button("Start", id="start", variant="primary")
        yield KeysFooter()

    def _other_template(self) -> str:
        return self.templates[0][0] if self.templates else AS_TYPED

    def _row(self, template: str) -> Horizontal:
        options = [("(the input as typed)", AS_TYPED)] + [
            (f"{title} ({name})", name) for name, title in self.templates
        ]
        return Horizontal(
            Select(options, value=template, allow_blank=False, classes="template"),
            Select(
                [(m, m) for m in self.models],
                value=self.models[0],
                allow_blank=False,
                classes="model",
            ),
            Input(placeholder="temp.", classes="temperature", type="number", max_length=4),
            Button("✕", classes="remove", tooltip="Remove this variant"),
            classes="variant",
        )

    def on_mount(self) -> None:
        self.query_one("#input", TextArea).focus()

    @on(Button.Pressed, "#add")
    def action_add_variant(self) -> None:
        rows = self.query(".variant")
        if len(rows) >= MAX_VARIANTS:
            self.notify(f"At most {MAX_VARIANTS} variants")
            return
        self.query_one("#variants").mount(self._row(AS_TYPED))

    @on(Button.Pressed, ".remove")
    def remove_variant(self, event: Button.Pressed) -> None:
        if len(self.query(".variant")) <= MIN_VARIANTS:
            self.notify(f"A comparison needs at least {MIN_VARIANTS} variants")
            return
        row = event.button.parent
        if row is not None:
            row.remove()

    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        setup = self.setup()
        if setup is not None:
            self.dismiss(setup)

    def setup(self) -> CompareSetup | None:
        """What the form says, or None (with a notice saying why) when it cannot start."""
        text = self.query_one("#input", TextArea).text
        if not text.strip():
            self.notify("Type the input to compare on", severity="warning")
            return None
        variants = []
        for row in self.query(".variant"):
            raw = row.query_one(".temperature", Input).value.strip()
            try:
                temperature = float(raw) if raw else None
            except ValueError:
                self.notify(f"Not a temperature: {raw}", severity="warning")
                return None
            template = row.query_one(".template", Select).value
            model = row.query_one(".model", Select).value
            variants.append(VariantChoice(str(template), str(model), temperature))
        if len(set(variants)) < len(variants):
            self.notify("Two variants are the same: change one", severity="warning")
            return None
        try:
            repeats = int(self.query_one("#repeats", Input).value or "1")
        except ValueError:
            repeats = 1
        return CompareSetup(text, variants, max(1, min(repeats, MAX_REPEATS)))

    def action_cancel(self) -> None:
        self.dismiss(None)
