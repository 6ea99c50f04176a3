"""A conversation's visible branch as Markdown, for `chatapp show` and copying."""

from __future__ import annotations

import datetime

from chatapp.core.models import Conversation, Message, MessageTree, Role

SPEAKER = {Role.USER: "You", Role.ASSISTANT: "Assistant", Role.SYSTEM: "System"}


def message_header(message: Message) -> str:
    parts = [SPEAKER[message.role]]
    if message.role == Role.ASSISTANT and message.model:
        parts.append(f"({message.model})")
    if message.incomplete:
        parts.append("[stopped]" if message.finish_reason == "cancelled" else "[incomplete]")
    return " ".join(parts)


def conversation_markdown(conversation: Conversation, messages: list[Message]) -> str:
    created = datetime.datetime.fromtimestamp(conversation.created).strftime("%Y-%m-%d %H:%M")
    lines = [f"# {conversation.title or 'Untitled'}", "", f"*{created} · {conversation.id}*", ""]
    for message in MessageTree(messages).path_to(conversation.active_leaf):
        lines += [f"## {message_header(message)}", "", message.content.rstrip(), ""]
    return "\n".join(lines).rstrip() + "\n"
