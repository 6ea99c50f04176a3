"""Fixtures for the chat screen's Pilot tests: settings, stored conversations and a driver
that reads the screen the way a user does; and the template library the template screens
are tested over."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import OptionList

from chatapp.config import ModelConfig, Settings, embedded_model
from chatapp.core.models import Conversation, Message, Role
from chatapp.core.templates import TemplateLibrary, builtin_dir
from chatapp.core.workspace import Workspace
from chatapp.store.conversations import ConversationRepo
from chatapp.store.users import UserDir
from chatapp.ui.app import ChatApp
from chatapp.ui.screens.chat import ChatScreen
from chatapp.ui.widgets.conversation_list import ConversationList
from chatapp.ui.widgets.message_view import MessageView
from chatapp.ui.widgets.prompt_input import PromptInput

USER = "tester"
SIZE = (110, 36)
# Small replies keep the tests quick on two shared cores.
MAX_TOKENS = 24
# Generous: other engineers run model benchmarks on the same two cores.
WAIT = 90.0


class Chat:
    """A running ChatApp and what its user sees and does."""

    def __init__(self, app: ChatApp, pilot: Pilot[None]) -> None:
        self.app = app
        self.pilot = pilot

    # -- what the user sees ---------------------------------------------------------------

    @property
    def screen(self) -> ChatScreen:
        return next(s for s in self.app.screen_stack if isinstance(s, ChatScreen))

    def text(self) -> str:
        """Everything on the terminal right now, line by line (modal screens included)."""
        return self.app.screen_text()

    def text_of(self, widget: Widget) -> str:
        """What a widget shows inside its border and padding, as text."""
        return self.app.screen_text(widget.content_region)

    def line_of(self, widget: Widget) -> str:
        """What a widget shows, its wrapped lines joined into one."""
        return " ".join(self.text_of(widget).split())

    @property
    def status(self) -> str:
        return str(self.screen.status.render())

    @property
    def draft(self) -> str:
        return self.screen.query_one(PromptInput).text

    def views(self) -> list[MessageView]:
        return list(self.screen.query(MessageView))

    def thread(self) -> list[tuple[str, str]]:
        """The messages shown in the thread, oldest first, as (role, text)."""
        return [(str(view.message.role), view.message.content) for view in self.views()]

    def sidebar(self) -> list[str]:
        """The conversation titles listed in the sidebar (day headers left out)."""
        options = self.screen.query_one(ConversationList).query_one(OptionList).options
        return [str(option.prompt).strip(" ●") for option in options if option.id is not None]

    def sidebar_id(self, title: str) -> str | None:
        options = self.screen.query_one(ConversationList).query_one(OptionList).options
        return next((o.id for o in options if str(o.prompt).strip(" ●") == title), None)

    def stored(self) -> list[Message]:
        """The visible branch of the open conversation as stored on disk."""
        session = self.screen.session
        assert session is not None, "no conversation is open"
        conversation, messages = self.app.workspace.conversations.load(session.id)
        by_id = {m.id: m for m in messages}
        path: list[Message] = []
        node = by_id.get(conversation.active_leaf or "")
        while node is not None:
            path.append(node)
            node = by_id.get(node.parent_id or "")
        return path[::-1]

    # -- what the user does ---------------------------------------------------------------

    async def type(self, text: str) -> None:
        await self.pilot.press(*text)

    async def send(self, text: str) -> None:
        await self.type(text)
        await self.pilot.press("enter")

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)

    # -- waiting --------------------------------------------------------------------------

    async def wait_until(
        self, condition: Callable[[], Any], what: str, timeout: float = WAIT
    ) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen:\n{self.text()}")
            await self.pilot.pause(0.05)
        await self.pilot.pause()

    async def wait_for_text(self, text: str, timeout: float = WAIT) -> None:
        await self.wait_until(lambda: text in self.text(), repr(text), timeout)

    async def reply_finished(self, timeout: float = WAIT) -> None:
        """Wait until no reply streams any more and the status bar says how it ended."""

        def finished() -> bool:
            session = self.screen.session
            return (
                session is not None
                and not session.generating
                and not self.screen.query(".-streaming")
                and self.status.rsplit(" · ", 1)[-1] in ("idle", "stopped", "error")
            )

        await self.wait_until(finished, "the reply to finish", timeout)


@pytest.fixture
def open_chat() -> Callable[..., contextlib.AbstractAsyncContextManager[Chat]]:
    """`async with open_chat(settings) as chat:` runs the app at a fixed terminal size."""

    @contextlib.asynccontextmanager
    async def run(
        settings: Settings, model_name: str | None = None, size: tuple[int, int] = SIZE
    ) -> AsyncIterator[Chat]:
        app = ChatApp(Workspace(settings), model_name)
        async with app.run_test(size=size, notifications=True) as pilot:
            chat = Chat(app, pilot)
            await chat.wait_until(lambda: app.screen_stack[1:], "the chat screen")
            yield chat

    return run


@pytest.fixture
def embedded() -> ModelConfig:
    """The bundled SmolLM2, run in-process, with short replies."""
    return replace(embedded_model(), max_tokens=MAX_TOKENS, n_ctx=2048)


@pytest.fixture
def make_settings(data_dir: Path, embedded: ModelConfig) -> Callable[..., Settings]:
    """Settings over the test's data dir: the given models (the first is the default)
    plus the embedded one."""

    def make(*models: ModelConfig, default: str | None = None, **extra: Any) -> Settings:
        configured = {model.name: model for model in models}
        configured.setdefault(embedded.name, embedded)
        first = default or next(iter(configured))
        return Settings(
            models=configured, default_model=first, data_dir=data_dir, user=USER, **extra
        )

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    """Only the embedded model."""
    return make_settings()


@pytest.fixture
def store_conversation(data_dir: Path) -> Callable[..., Conversation]:
    """Write a conversation with ConversationRepo, as an earlier session would have:
    `store_conversation("Title", ["question", "answer", ...])` alternates user/assistant."""

    def store(
        title: str,
        turns: Iterable[str],
        *,
        model: str = "smollm2",
        updated: float | None = None,
    ) -> Conversation:
        repo = ConversationRepo(UserDir(data_dir, USER))
        conversation = Conversation(user=USER, title=title, model=model)
        repo.create(conversation)
        parent: str | None = None
        messages = []
        for number, text in enumerate(turns):
            role = Role.USER if number % 2 == 0 else Role.ASSISTANT
            message = Message(
                conversation_id=conversation.id,
                role=role,
                content=text,
                parent_id=parent,
                model=model if role == Role.ASSISTANT else None,
                created=conversation.created + number,
            )
            messages.append(message)
            parent = message.id
        # One write for all of them: append_message fsyncs each, ~9 ms a message.
        repo.append_messages(conversation.id, messages)
        conversation.active_leaf = parent
        if updated is not None:
            conversation.updated = updated
        repo.save_conversation(conversation)
        return conversation

    return store


@pytest.fixture
def library(tmp_path: Path) -> TemplateLibrary:
    """The built-in templates, and the user's own in a fresh folder."""
    return TemplateLibrary(builtin_dir(), tmp_path / "prompts", tmp_path / "templates.json")
