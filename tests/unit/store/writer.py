"""A separate process that writes conversations, for the crash and concurrency tests.

It prints `ready`, then one line `<message id> <content length>` each time a write has
returned, i.e. each time the store reported it committed.

    python -m tests.unit.store.writer DATA_DIR USER chaos
    python -m tests.unit.store.writer DATA_DIR USER append CONVERSATION_ID COUNT GO_FILE
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

from chatapp.core.models import Conversation, Message, Role
from chatapp.store.conversations import ConversationRepo
from chatapp.store.users import UserDir


def report(message: Message) -> None:
    print(message.id, len(message.content), flush=True)


def chaos(repo: ConversationRepo) -> None:
    """Everything a chat session does, forever, until the test kills it."""
    conversation = _latest_or_new(repo)
    for turn in range(1_000_000):
        if turn % 7 == 6:
            conversation = Conversation(user=repo.user, title=f"chat {turn}")
            repo.create(conversation)
        question = Message(conversation.id, Role.USER, f"question {turn} " * 20)
        repo.append_message(question)
        report(question)
        reply = Message(conversation.id, Role.ASSISTANT, "", parent_id=question.id)
        repo.append_message(reply)
        report(reply)
        repo.set_active_leaf(conversation.id, reply.id)
        for _ in range(3):
            reply.content += "streamed words " * random.randint(1, 30)
            repo.update_message(reply)
            report(reply)
        if turn % 5 == 0:
            repo.rename(conversation.id, f"renamed at turn {turn}")
            repo.list_conversations()


def append(repo: ConversationRepo, conversation_id: str, count: int, go_file: Path) -> None:
    """Append count messages to one conversation as fast as possible, starting on a signal."""
    while not go_file.exists():
        time.sleep(0.001)
    for number in range(count):
        message = Message(conversation_id, Role.USER, f"message {number} from {os.getpid()}")
        repo.append_message(message)
        report(message)


def _latest_or_new(repo: ConversationRepo) -> Conversation:
    summary = repo.last()
    if summary is not None:
        return repo.load(summary.id)[0]
    conversation = Conversation(user=repo.user, title="first")
    repo.create(conversation)
    return conversation


def main(argv: list[str]) -> None:
    data_dir, user, mode, *rest = argv
    repo = ConversationRepo(UserDir(Path(data_dir), user))
    print("ready", flush=True)
    if mode == "chaos":
        chaos(repo)
    else:
        conversation_id, count, go_file = rest
        append(repo, conversation_id, int(count), Path(go_file))


if __name__ == "__main__":
    main(sys.argv[1:])
