"""Export feedback as training data from the TUI: the same export as `chatapp export`
(core/feedback/export.py), with a progress bar while the log is read and written."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, ProgressBar, Select, Static

from chatapp.core.errors import ChatappError
from chatapp.core.workspace import Workspace, list_users
from chatapp.ui.widgets.keys_footer import KeysFooter

FORMATS = [
    ("DPO pairs (TRL)", "dpo"),
    ("KTO rows (TRL)", "kto"),
    ("SFT conversations", "sft"),
    ("OpenAI preference fine-tuning", "openai"),
    ("Raw events", "raw"),
]


class ExportScreen(ModalScreen[None]):
    """Pick a format and a file, then export; says what was written and skipped."""

    CSS_PATH = "export.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "export", "Export", priority=True),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, workspace: Workspace, folder: Path | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.folder = folder or Path.home()

    def compose(self) -> ComposeResult:
        today = datetime.date.today().isoformat()
        with Vertical(id="dialog"):
            yield Static("Export feedback as training data", classes="title")
            yield Select(FORMATS, value="dpo", allow_blank=False, id="format")
            yield Label("File")
            yield Input(str(self.folder / f"chatapp-dpo-{today}.jsonl"), id="path")
            with Horizontal(id="options"):
                yield Checkbox("Every user here", id="all-users")
                yield Checkbox("Keep personal data", id="no-redact")
                yield Checkbox("Keep saved memories", id="with-memories")
                yield Checkbox("One-sided KTO", id="force")
            yield ProgressBar(total=None, show_eta=False, id="progress")
            yield Static("", id="result")
            with Horizontal(id="buttons"):
                yield Button("Close", action="screen.close")
                yield Button("Export", variant="primary", action="screen.export", id="go")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#progress", ProgressBar).display = False

    def on_select_changed(self, event: Select.Changed) -> None:
        box = self.query_one("#path", Input)
        path = Path(box.value)
        for _, name in FORMATS:
            if f"-{name}-" in path.name:
                box.value = str(path.with_name(path.name.replace(f"-{name}-", f"-{event.value}-")))
                return

    def action_close(self) -> None:
        self.workers.cancel_group(self, "export")
        self.dismiss(None)

    def action_export(self) -> None:
        if any(w.group == "export" and not w.is_finished for w in self.workers):
            return
        path = Path(self.query_one("#path", Input).value).expanduser()
        self.query_one("#progress", ProgressBar).display = True
        self.query_one("#go", Button).disabled = True
        self.say("exporting…")
        self.export(path, str(self.query_one("#format", Select).value))

    def checked(self, name: str) -> bool:
        return self.query_one(f"#{name}", Checkbox).value

    @work(thread=True, group="export", exclusive=True)
    def export(self, path: Path, format: str) -> None:
        from chatapp.core.feedback.card import card_path
        from chatapp.core.feedback.export import (
            ExportFormat,
            export,
            export_key_for,
            feedback_of,
            is_dataset_card,
            write_export,
        )

        settings = self.workspace.settings
        try:
            card = card_path(path)
            if card.exists() and not is_dataset_card(card):
                raise ChatappError(f"{card} exists and is not a chatapp dataset card")
            users = (
                [u.name for u in list_users(settings)]
                if self.checked("all-users")
                else [self.workspace.user]
            )
            kind = ExportFormat(format)
            result = export(
                feedback_of(settings.data_dir, users, None),
                kind,
                key=export_key_for(settings.data_dir) if kind is ExportFormat.RAW else None,
                redact=not self.checked("no-redact"),
                include_memories=self.checked("with-memories"),
                force=self.checked("force"),
            )
            write_export(result, path, lambda rows: self.app.call_from_thread(self.advanced, rows))
        except (ChatappError, OSError) as error:
            self.app.call_from_thread(self.finished, f"not exported: {error}", True)
            return
        summary = f"{result.report.summary()}\nwrote {path}\ndataset card: {card}"
        self.app.call_from_thread(self.finished, summary, False)

    def advanced(self, rows: int) -> None:
        self.say(f"exporting… {rows:,} rows written")

    def finished(self, text: str, failed: bool) -> None:
        self.query_one("#progress", ProgressBar).display = False
        self.query_one("#go", Button).disabled = False
        self.say(text, failed)

    def say(self, text: str, failed: bool = False) -> None:
        result = self.query_one("#result", Static)
        result.update(Content(text))
        result.set_class(failed, "-failed")
