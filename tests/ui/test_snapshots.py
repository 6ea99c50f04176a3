"""Snapshots of whole screens at 80x24 and 120x40.

Everything shown comes from conversations stored before the app starts, never from a live
model: fixed ids and times, a fixed "today" for the sidebar's day headers and a cursor that
does not blink. Regenerate after an intended change of look with
`pytest tests/ui/test_snapshots.py --snapshot-update`, then look at the SVGs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from textual.pilot import Pilot

from chatapp.config import Settings
from chatapp.core.models import Conversation, FinishReason, Message, Role
from chatapp.core.workspace import Workspace
from chatapp.store import conversations as conversation_store
from chatapp.store.conversations import ConversationRepo
from chatapp.store.users import UserDir
from chatapp.ui.app import ChatApp
from chatapp.ui.widgets.message_view import MessageView
from tests.ui.snapshots import MODEL, SIZES, TODAY, USER, at, settings, settled, until

# The fixture shared with the other snapshots: a remote model never asked anything.
__all__ = ["settings"]

CODE_ANSWER = """\
Use slicing, which returns a new list:

```python
numbers = [1, 2, 3, 4]
backwards = numbers[::-1]
print(backwards)  # [4, 3, 2, 1]
```

Or reverse in place with `numbers.reverse()`; it returns `None`."""

ERROR_TEXT = "the connection dropped midway; the reply is incomplete (the stream ended early)"


@dataclass(frozen=True)
class Stored:
    id: str
    title: str
    updated: float
    turns: tuple[str, ...]
    error: str | None = None


# Newest first, as the sidebar lists them: Today, Yesterday, a weekday, last year.
CONVERSATIONS = (
    Stored(
        "c-lists",
        "Reversing a list in Python",
        at(TODAY, 10, 30),
        (
            "What is a list in Python?",
            "An ordered, changeable collection: `[1, 2, 3]`.",
            "How do I reverse one?",
            CODE_ANSWER,
        ),
    ),
    Stored(
        "c-summary",
        "Summarise an article",
        at(TODAY - timedelta(days=1), 18, 5),
        ("Summarise this article about tides.", "The article explains that tides"),
        error=ERROR_TEXT,
    ),
    Stored(
        "c-lisbon",
        "Three days in Lisbon",
        at(TODAY - timedelta(days=3), 9, 0),
        ("Plan three days in Lisbon.", "Day 1: Alfama and the castle. Day 2: Belém."),
    ),
    Stored(
        "c-haiku",
        "A haiku about winter",
        at(date(2025, 12, 5), 21, 40),
        (
            "Write a haiku about winter.",
            "Bare trees in the wind\nsnow settles on silent roofs\nthe kettle murmurs",
        ),
    ),
)


def store(repo: ConversationRepo, stored: Stored) -> None:
    messages: list[Message] = []
    parent: str | None = None
    for number, text in enumerate(stored.turns):
        role = Role.USER if number % 2 == 0 else Role.ASSISTANT
        last = number == len(stored.turns) - 1
        failed = last and stored.error is not None
        message = Message(
            conversation_id=stored.id,
            role=role,
            content=text,
            parent_id=parent,
            id=f"{stored.id}-{number}",
            created=stored.updated - 60 * (len(stored.turns) - number),
            model=MODEL if role == Role.ASSISTANT else None,
            prompt_tokens=30 * number if role == Role.ASSISTANT else None,
            completion_tokens=len(text) // 4 if role == Role.ASSISTANT else None,
            tokens_per_second=42.0 if role == Role.ASSISTANT else None,
            finish_reason=FinishReason.ERROR if failed else None,
            incomplete=failed,
            error=stored.error if failed else None,
        )
        messages.append(message)
        parent = message.id
    created = messages[0].created
    repo.create(
        Conversation(
            user=USER,
            id=stored.id,
            title=stored.title,
            created=created,
            updated=created,
            model=MODEL,
        )
    )
    for message in messages:
        repo.append_message(message, make_active=True)


@pytest.fixture
def conversations(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stored conversations, each written at its own fixed time."""
    repo = ConversationRepo(UserDir(settings.data_dir, USER))
    for stored in CONVERSATIONS:
        with monkeypatch.context() as patch:
            # Appending stamps the conversation with the clock: make it the stored time.
            patch.setattr(
                conversation_store, "time", SimpleNamespace(time=lambda t=stored.updated: t)
            )
            store(repo, stored)


def opening(position: int) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """A run_before that opens the sidebar's conversation at position (0 = newest) the way
    a user does: ctrl+f, Down into the list, Down to it, Enter."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("ctrl+f", "down", *["down"] * position, "enter")
        wanted = CONVERSATIONS[position]
        screen = pilot.app.screen

        def opened() -> bool:
            session = getattr(screen, "session", None)
            shown = len(screen.query(MessageView)) == len(wanted.turns)
            return session is not None and session.conversation.id == wanted.id and shown

        await until(pilot, opened, f"conversation {wanted.id!r} on screen")
        await settled(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_empty_first_start(snap_compare: Any, settings: Settings, size: tuple[int, int]) -> None:
    assert snap_compare(ChatApp(Workspace(settings)), terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES)
def test_conversation_with_a_code_block(
    snap_compare: Any, settings: Settings, conversations: None, size: tuple[int, int]
) -> None:
    assert snap_compare(ChatApp(Workspace(settings)), terminal_size=size, run_before=opening(0))


@pytest.mark.parametrize("size", SIZES)
def test_reply_that_failed_shows_its_error(
    snap_compare: Any, settings: Settings, conversations: None, size: tuple[int, int]
) -> None:
    assert snap_compare(ChatApp(Workspace(settings)), terminal_size=size, run_before=opening(1))


@pytest.mark.parametrize("size", SIZES)
def test_keys_help(
    snap_compare: Any, settings: Settings, conversations: None, size: tuple[int, int]
) -> None:
    assert snap_compare(
        ChatApp(Workspace(settings)), terminal_size=size, press=["f1"], run_before=settled
    )


@pytest.mark.parametrize("size", SIZES)
def test_command_palette(
    snap_compare: Any, settings: Settings, conversations: None, size: tuple[int, int]
) -> None:
    app = ChatApp(Workspace(settings))
    assert snap_compare(app, terminal_size=size, press=["ctrl+p"], run_before=settled)
