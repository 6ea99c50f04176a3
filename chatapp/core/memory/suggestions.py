"""When suggestions are made: after a user message is stored, by the rules; after its
reply, by the model too when its config says so (capable models; never the embedded
one), so it never competes with the reply for the model. Never in incognito chats."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from chatapp.core.events import Event, ReplyFinished, TurnStored

# The rules and the model's extractor are imported when first asked (their patterns take
# longer to compile than the chat screen takes to draw): the workspace listens from start.
if TYPE_CHECKING:
    from chatapp.core.background import BackgroundJobs
    from chatapp.core.memory.user_memory import UserMemory
    from chatapp.core.models import Message
    from chatapp.core.session import ChatSession

# The open session of a conversation whose user messages may be mined, else None.
Minable = Callable[[str], "ChatSession | None"]


class MemorySuggestions:
    # The events heard() wants.
    EVENTS = (TurnStored, ReplyFinished)

    def __init__(
        self, memory: Callable[[], UserMemory], session_of: Minable, jobs: BackgroundJobs
    ) -> None:
        self._memory = memory
        self._session_of = session_of
        self._jobs = jobs
        # User messages a model was already asked about (a regenerate asks again nothing).
        self._asked_model: set[str] = set()

    def heard(self, event: Event) -> None:
        if isinstance(event, TurnStored):
            found = self._minable(event.conversation_id, event.message_id)
            if found is not None:
                job = asyncio.to_thread(self._memory().suggest, found[1])
                self._jobs.start(job, "memory suggestions")
        elif isinstance(event, ReplyFinished):
            found = self._minable(event.conversation_id, event.question_id)
            if found is None or not found[0].model.extract_memories:
                return
            session, message = found
            if message.id not in self._asked_model:
                self._asked_model.add(message.id)
                self._jobs.start(self._ask_model(session, message), "memory suggestions")

    def _minable(
        self, conversation_id: str, message_id: str | None
    ) -> tuple[ChatSession, Message] | None:
        session = self._session_of(conversation_id)
        if session is None or message_id is None or message_id not in session.tree:
            return None
        return session, session.tree.get(message_id)

    async def _ask_model(self, session: ChatSession, message: Message) -> None:
        from chatapp.core.memory.extract import extract
        from chatapp.core.memory.model_extract import ModelExtractor

        found = await ModelExtractor(session.backend).extract(message.content)
        by_rules = {candidate.text.casefold() for candidate in extract(message.content)}
        extra = [c for c in found if c.text.casefold() not in by_rules]
        if extra:
            await asyncio.to_thread(self._memory().suggest, message, extra)
