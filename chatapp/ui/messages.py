"""The UI's own messages: what the core announced, and a model becoming ready or failing."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from chatapp.core.errors import ChatappError
from chatapp.core.events import Event


@dataclass
class CoreEvent(Message):
    """Something happened in the core (a reply finished, a conversation was renamed…);
    the app posts one to each screen."""

    event: Event


@dataclass
class ModelReady(Message):
    """The model can answer now (a local one has loaded)."""

    name: str


@dataclass
class ModelFailed(Message):
    name: str
    error: ChatappError
