"""The UI's own messages: what the core announced, as a Textual message."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from chatapp.core.events import Event


@dataclass
class CoreEvent(Message):
    """Something happened in the core (a reply finished, a conversation was renamed…);
    the app posts one to each screen."""

    event: Event
