"""How a screen tells that one of its workers failed: a ChatappError has text for the user
and the screen goes on; anything else is a bug and is raised."""

from __future__ import annotations

from textual.widget import Widget
from textual.worker import Worker, WorkerState

from chatapp.core.errors import ChatappError


def chatapp_failure(event: Worker.StateChanged) -> ChatappError | None:
    """The ChatappError the worker failed with; None when it did not fail. Any other error
    is a bug and is raised here."""
    error = event.worker.error
    if event.state != WorkerState.ERROR or error is None:
        return None
    if isinstance(error, ChatappError):
        return error
    raise error


def toast_failure(widget: Widget, event: Worker.StateChanged) -> None:
    """A worker's ChatappError as an error toast that stays 10 s; a bug is raised."""
    if (error := chatapp_failure(event)) is not None:
        widget.notify(str(error), severity="error", timeout=10, markup=False)
