"""Fixtures for the store tests: a repo over real TinyDB files in a temp data dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatapp.core.models import Conversation, Message, Role
from chatapp.store.conversations import ConversationRepo
from chatapp.store.users import UserDir

USER = "tester"


class Chat:
    """What a user does, in a few words: start a conversation, say something, get a reply."""

    def __init__(self, repo: ConversationRepo) -> None:
        self.repo = repo

    def start(self, title: str = "", **fields: object) -> Conversation:
        conversation = Conversation(user=USER, title=title, **fields)  # type: ignore[arg-type]
        self.repo.create(conversation)
        return conversation

    def say(self, conversation: Conversation, text: str, parent: Message | None = None) -> Message:
        return self._append(conversation, Role.USER, text, parent)

    def reply(self, conversation: Conversation, text: str, parent: Message) -> Message:
        return self._append(conversation, Role.ASSISTANT, text, parent)

    def _append(
        self, conversation: Conversation, role: Role, text: str, parent: Message | None
    ) -> Message:
        message = Message(
            conversation_id=conversation.id,
            role=role,
            content=text,
            parent_id=parent.id if parent else None,
        )
        self.repo.append_message(message)
        return message


@pytest.fixture
def repo(data_dir: Path) -> ConversationRepo:
    return ConversationRepo(UserDir(data_dir, USER))


@pytest.fixture
def chat(repo: ConversationRepo) -> Chat:
    return Chat(repo)


@pytest.fixture
def user_dir(data_dir: Path) -> Path:
    return data_dir / "users" / USER
