"""Pick the model that answers the next replies; a local model whose file cannot load
says why before it is picked."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from chatapp.config import ModelConfig, Settings
from chatapp.core.backends.reachability import local_model_problem


class ModelPickerScreen(ModalScreen[str | None]):
    """A list of the configured models; Enter picks one, Esc keeps the current one."""

    DEFAULT_CSS = """
    ModelPickerScreen { align: center middle; }
    ModelPickerScreen > Vertical {
        width: 80%; max-width: 100; height: auto; max-height: 80%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    ModelPickerScreen OptionList { height: auto; max-height: 20; border: none; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, settings: Settings, current: str) -> None:
        super().__init__()
        self.settings = settings
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Answer with which model?")
            yield OptionList(*self._options())

    def _options(self) -> list[Option]:
        options = []
        for name, model in self.settings.models.items():
            label = Text("● " if name == self.current else "  ")
            label.append(name, style="bold")
            label.append(f"  {model.backend}  ", style="dim")
            problem = _problem(model)
            if problem is None:
                where = model.path or model.base_url or "bundled SmolLM2-135M"
                label.append(str(where), style="dim")
            else:
                label.append(problem, style="red")
            options.append(Option(label, id=name))
        return options

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        option_list.highlighted = list(self.settings.models).index(self.current)
        option_list.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


def _problem(model: ModelConfig) -> str | None:
    """Why a local model's file cannot load (it names the file); remote models are only
    asked when picked, so a slow server cannot hold the list up."""
    return local_model_problem(model) if model.backend == "llama" else None
