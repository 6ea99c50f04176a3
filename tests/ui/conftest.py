"""Fixtures for the chat screen's Pilot tests: settings, stored conversations and a driver
that reads the screen the way a user does."""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import OptionList

from chatapp.config import ModelConfig, Settings, embedded_model
from chatapp.core.models import Conversation, Message, Role
from chatapp.store.repos import MESSAGES_TABLE, ConversationRepo
from chatapp.ui.app import ChatApp
from chatapp.ui.screens.chat import ChatScreen
from chatapp.ui.widgets.conversation_list import ConversationList
from chatapp.ui.widgets.message_view import MessageView
from chatapp.ui.widgets.prompt_input import PromptInput
from chatapp.ui.widgets.status_bar import StatusBar
from tests.fixtures.servers import LOOPBACK, sse_chunk

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
        return self.app.chat_screen

    def text(self) -> str:
        """Everything on the terminal right now, line by line (modal screens included)."""
        strips = self.app.screen._compositor.render_strips()
        return "\n".join(strip.text.rstrip() for strip in strips)

    def text_of(self, widget: Widget) -> str:
        """What a widget shows inside its border and padding, as text."""
        region = widget.content_region
        strips = self.app.screen._compositor.render_strips()[region.y : region.bottom]
        return "\n".join(
            strip.crop(region.x, region.right).text.rstrip() for strip in strips
        ).strip()

    def line_of(self, widget: Widget) -> str:
        """What a widget shows, its wrapped lines joined into one."""
        return " ".join(self.text_of(widget).split())

    @property
    def status(self) -> str:
        return str(self.app.chat_screen.query_one(StatusBar).render())

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
        conversation, messages = self.app.repo.load(session.conversation.id)
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
        app = ChatApp(settings, model_name)
        async with app.run_test(size=size, notifications=True) as pilot:
            chat = Chat(app, pilot)
            await chat.wait_until(lambda: app.screen_stack[1:], "the chat screen")
            yield chat

    return run


@pytest.fixture
def embedded() -> ModelConfig:
    """The bundled SmolLM2, run in-process, with short replies."""
    return embedded_model().model_copy(update={"max_tokens": MAX_TOKENS, "n_ctx": 2048})


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
        repo = ConversationRepo(data_dir, USER)
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
        with repo._conversation_file(conversation.id).writing() as db:
            db.table(MESSAGES_TABLE).insert_multiple(m.to_dict() for m in messages)
        conversation.active_leaf = parent
        if updated is not None:
            conversation.updated = updated
        repo.save_conversation(conversation)
        return conversation

    return store


# --- a scripted OpenAI-compatible model ---------------------------------------------------


@dataclass
class Script:
    """What a scripted model answers: successive replies per question (the last one
    repeats), and "You said: <question>" to anything else, such as the title request."""

    replies: dict[str, list[str]]
    delay: float = 0.0
    questions: list[str] = field(default_factory=list)

    def reply_to(self, question: str) -> str:
        self.questions.append(question)
        queue = self.replies.get(question)
        if not queue:
            return f"You said: {question}"
        return queue.pop(0) if len(queue) > 1 else queue[0]


class _ScriptHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ScriptServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet."""

    def do_GET(self) -> None:  # noqa: N802
        self._send_json({"object": "list", "data": [{"id": "scripted-model"}]})

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        script = self.server.scripts[self.path.lstrip("/").partition("/")[0]]
        question = next(
            (m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), ""
        )
        reply = script.reply_to(question)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        tokens = re.findall(r"\s*\S+|\s+", reply)
        try:
            for token in tokens:
                self._chunk(sse_chunk(token))
                if script.delay:
                    time.sleep(script.delay)
            self._chunk(sse_chunk(finish_reason="stop"))
            usage = {"prompt_tokens": 20, "completion_tokens": len(tokens)}
            self._chunk(b"data: " + json.dumps({"choices": [], "usage": usage}).encode() + b"\n\n")
            self._chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the user pressed Esc: the client hung up

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send_json(self, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _ScriptServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__((LOOPBACK, 0), _ScriptHandler)
        self.scripts: dict[str, Script] = {}

    def handle_error(self, request: Any, client_address: Any) -> None:
        """An app closing mid-request hangs up; anything else is reported."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class ScriptedServer:
    server: _ScriptServer
    _keys: Iterator[int] = field(default_factory=itertools.count)

    def config(
        self,
        replies: dict[str, list[str]] | None = None,
        *,
        name: str = "scripted",
        delay: float = 0.0,
    ) -> ModelConfig:
        """A model answering from its own script; `self.script(config)` reads it back."""
        key = f"s{next(self._keys)}"
        self.server.scripts[key] = Script({q: list(r) for q, r in (replies or {}).items()}, delay)
        host, port = self.server.server_address[:2]
        return ModelConfig(
            name=name,
            backend="openai",
            base_url=f"http://{host}:{port}/{key}/v1",
            model="scripted-model",
            n_ctx=4096,
            timeout=10.0,
        )

    def script(self, config: ModelConfig) -> Script:
        assert config.base_url is not None
        return self.server.scripts[config.base_url.split("/")[3]]


@pytest.fixture(scope="session")
def scripted_server() -> Iterator[ScriptedServer]:
    """An OpenAI-compatible server whose replies each test writes: deterministic text,
    optionally streamed slowly (delay seconds a word)."""
    server = _ScriptServer()
    thread = threading.Thread(target=server.serve_forever, name="scripted", daemon=True)
    thread.start()
    yield ScriptedServer(server)
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
