"""A snapshot of rated replies at 80x24: one rated up with reasons and a comment (kept
from an earlier run), the next one focused, with its keys in the footer.

Everything comes from what was stored before the app starts (fixed ids and times, the
sidebar's "today" fixed), never from a live model. Regenerate after an intended change
of look with `pytest tests/ui/test_rating_snapshot.py --snapshot-update`."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from textual.pilot import Pilot

from chatapp.config import Settings
from chatapp.core.models import Conversation, Message, Role
from chatapp.core.workspace import Workspace
from chatapp.store import conversations as conversation_store
from chatapp.store.conversations import ConversationRepo
from chatapp.store.users import UserDir
from chatapp.ui.app import ChatApp
from chatapp.ui.widgets.message_view import MessageView
from chatapp.ui.widgets.rating_bar import RatingBar
from tests.ui.snapshots import MODEL, TODAY, USER, at, settings, settled, until

# The fixture shared with the other snapshots: a remote model never asked anything.
__all__ = ["settings"]

CONVERSATION = "c-capitals"
UPDATED = at(TODAY, 9, 15)
TURNS = (
    "What is the capital of Australia?",
    "Canberra. It was chosen as a compromise between Sydney and Melbourne.",
    "And of New Zealand?",
    "Wellington, at the southern tip of the North Island.",
)


@pytest.fixture
def rated(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The conversation as stored, its first reply rated up in an earlier run."""
    monkeypatch.setattr(conversation_store, "time", SimpleNamespace(time=lambda: UPDATED))
    repo = ConversationRepo(UserDir(settings.data_dir, USER))
    messages: list[Message] = []
    for number, text in enumerate(TURNS):
        role = Role.USER if number % 2 == 0 else Role.ASSISTANT
        messages.append(
            Message(
                conversation_id=CONVERSATION,
                role=role,
                content=text,
                parent_id=messages[-1].id if messages else None,
                id=f"{CONVERSATION}-{number}",
                created=UPDATED - 60 * (len(TURNS) - number),
                model=MODEL if role == Role.ASSISTANT else None,
            )
        )
    repo.create(
        Conversation(
            user=USER,
            id=CONVERSATION,
            title="Capitals",
            created=messages[0].created,
            updated=UPDATED,
            model=MODEL,
        )
    )
    for message in messages:
        repo.append_message(message, make_active=True)
    feedback = Workspace(settings).feedback
    feedback.log.set_consent(True)
    feedback.rate(CONVERSATION, messages[1].id, 1, ["accurate", "clear"], "Right, and says why")


async def open_and_focus_the_last_reply(pilot: Pilot[Any]) -> None:
    await settled(pilot)
    await pilot.press("ctrl+f", "down", "down", "enter")
    screen = pilot.app.screen

    def shown() -> bool:
        bars = screen.query(RatingBar)
        return len(screen.query(MessageView)) == len(TURNS) and any(
            bar.rating is not None for bar in bars
        )

    await until(pilot, shown, "the conversation with its rating")
    await settled(pilot)
    await pilot.press("shift+tab")
    await pilot.pause()


def test_a_rated_reply(snap_compare: Any, settings: Settings, rated: None) -> None:
    assert snap_compare(
        ChatApp(Workspace(settings)),
        terminal_size=(80, 24),
        run_before=open_and_focus_the_last_reply,
    )
