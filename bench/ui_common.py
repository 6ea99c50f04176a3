"""What the chat UI benches (bench/ui_*.py) share: the streamed document, a figure and
its report, a private tmux, and the only code that reaches into ChatApp.

Every bench reads and drives the app through the functions under "ChatApp, as the benches
see it" below, so a change inside the app is ported here once.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _paths  # noqa: F401  (the repository root on sys.path, for chatapp and tests)

# As `chatapp` does for its TUI (cli.py): llama.cpp threads sleep, not spin, while the UI
# draws. Set before llama.cpp loads, in this process and in the servers it starts.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

SIZE = (120, 40)
USER = "bench"
PLACEHOLDER = "Message… (Enter"
START_TIMEOUT = 60.0
# The tokens/s the status bar shows once a reply is done.
STATUS_RATE = re.compile(r"([\d.]+) tok/s · idle")
REMOTE_QUESTION = "Write a short story about a lighthouse keeper and a storm."

# The streamed document: about 20k tokens (4 characters each) in 5,000 chunks.
CHUNKS = 5000
DOCUMENT_CHARS = 80_000
# The answer a scripted model gives to title requests: short, so they never delay a figure.
SCRIPTED_TITLE = "Bench title"


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


def big_draft(shape: str, size: int = 2_000_000) -> str:
    """size characters to paste into the prompt, as a log file pastes ("lines": short
    lines) or as minified JSON does ("one line")."""
    if shape == "lines":
        line = "2024-05-01T12:00:00 INFO request served in 12 ms, cache hit, user agent curl\n"
    else:
        line = "the quick brown fox jumps over the lazy dog, "
    return line * (size // len(line))


# -- figures and their report ---------------------------------------------------------------


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


def arguments(doc: str, reps: int | None = None) -> argparse.ArgumentParser:
    """A bench's command line: its docstring's first line, and --reps if it repeats."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    if reps is not None:
        parser.add_argument("--reps", type=int, default=reps, help=f"default {reps}")
    return parser


def run_bench(bench: str, measure: Callable[[Path], list[Figure]]) -> None:
    """measure in a fresh work folder, then print each figure and, last, one JSON object
    with every figure, its baseline, its target and "ok"."""
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix=f"chatapp-bench-{bench}-") as folder:
        figures = measure(Path(folder))
    for figure in figures:
        print(figure.line())
    # Other work on the 2 shared cores moves these figures more than small UI changes do.
    load = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(f"load average before/after: {load[0]} / {load[1]}")
    result: dict[str, Any] = {"bench": bench, "load_average": load}
    for figure in figures:
        result[figure.key] = figure.value
    result["baseline"] = {k: v for figure in figures for k, v in figure.baseline.items()}
    result["target"] = {figure.key: figure.target for figure in figures}
    result["ok"] = all(figure.ok for figure in figures)
    print(json.dumps(result), flush=True)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def paired_ratio(ours: list[float], theirs: list[float]) -> float:
    """Median of the ratios of runs made side by side: on a shared 2-core machine the load
    drifts, and runs next to each other in time see the same load."""
    return statistics.median(a / b for a, b in zip(ours, theirs, strict=True))


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# -- settings -------------------------------------------------------------------------------


def settings_for(data_dir: Path, **models: dict[str, Any]) -> Any:
    """Settings with these models (the first is the default) over data_dir."""
    from chatapp.config import ModelConfig, Settings

    configs = {name: ModelConfig(**values) for name, values in models.items()}
    return Settings(default_model=next(iter(models)), user=USER, models=configs, data_dir=data_dir)


def remote_model(base_url: str, model: str, max_tokens: int = 8192) -> dict[str, Any]:
    """An OpenAI-compatible model at base_url (ending in /v1)."""
    return {
        "backend": "openai",
        "base_url": base_url,
        "model": model,
        "n_ctx": 65536,
        "max_tokens": max_tokens,
        "timeout": 120.0,
    }


def local_model(max_tokens: int) -> dict[str, Any]:
    """The embedded SmolLM2, greedy so every run produces the same text."""
    from dataclasses import asdict

    from chatapp.config import embedded_model

    values = asdict(embedded_model())
    del values["name"], values["api_key"]
    return values | {"temperature": 0.0, "max_tokens": max_tokens}


def scripted_reply(pieces: list[str], delay: float = 0.0) -> Any:
    """A scripted model's script: these pieces to every question, a short title."""
    from tests.fixtures.scripted import Script

    return Script(pieces=pieces, delay=delay, title=SCRIPTED_TITLE)


@contextlib.contextmanager
def textual_default_fps() -> Iterator[None]:
    """A bare baseline app draws at Textual's default 60 frames a second, as it would in
    a process of its own: chatapp sets TEXTUAL_FPS=240 (chatapp/ui/__init__.py), and in
    this process that would make the baseline draw, and spend, four times as often."""
    import textual.screen

    chosen = textual.screen.UPDATE_PERIOD
    # Read when a screen's update timer is made; Final in Textual, set here on purpose.
    textual.screen.UPDATE_PERIOD = 1 / 60  # type: ignore[misc]
    try:
        yield
    finally:
        textual.screen.UPDATE_PERIOD = chosen  # type: ignore[misc]


# -- ChatApp, as the benches see it ---------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A finished reply as the benches read it."""

    text: str
    error: str | None
    tokens_per_second: float
    completion_tokens: int


def new_app(settings: Any) -> Any:
    from chatapp.core.workspace import Workspace
    from chatapp.ui.app import ChatApp

    return ChatApp(Workspace(settings))


def chat_screen(app: Any) -> Any:
    from chatapp.ui.screens.chat import ChatScreen

    return next(screen for screen in app.screen_stack if isinstance(screen, ChatScreen))


def prompt_input(app: Any) -> Any:
    """The text area the user types questions into."""
    return chat_screen(app).prompt


def set_prompt(app: Any, text: str) -> None:
    """Put text in the prompt at once, as a paste does (typing it takes a key each)."""
    prompt_input(app).text = text


async def paste(app: Any, pilot: Any, text: str) -> None:
    """Paste text at the prompt's cursor as a terminal does (one Paste event); return once
    it is in the prompt."""
    from textual import events

    box = prompt_input(app)
    expected = len(box.text) + len(text)
    box.post_message(events.Paste(text))
    while len(box.text) < expected:
        await pilot.pause(0.05)


async def type_text(pilot: Any, text: str) -> None:
    await pilot.press(*text)


async def send(pilot: Any) -> None:
    """Send the prompt's text."""
    await pilot.press("enter")


def model_ready(app: Any) -> bool:
    """Whether the current model can answer (a local one has loaded)."""
    return bool(app.workspace.models.ready(chat_screen(app).current_model.name))


async def wait_until_model_ready(app: Any, pilot: Any) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not model_ready(app):
        if time.monotonic() > deadline:
            raise RuntimeError("the local model did not load")
        await pilot.pause(0.05)


def local_llama(app: Any) -> Any:
    """The llama_cpp.Llama the app's current (local) model runs on."""
    return app.workspace.models.get(chat_screen(app).current_model.name).llama


def reply_running(app: Any) -> bool:
    return any(_reply_workers(app))


def _reply_workers(app: Any) -> list[Any]:
    return [w for w in app.workers if w.group == "llm" and not w.is_finished]


async def wait_for_reply(app: Any, pilot: Any) -> Reply:
    """Wait until the reply being streamed is finished on screen."""
    from textual.worker import WorkerCancelled

    for worker in _reply_workers(app):
        with contextlib.suppress(WorkerCancelled):
            await worker.wait()
    await pilot.pause()
    session = chat_screen(app).session
    turn = session.turn if session is not None else None
    if turn is None:
        raise RuntimeError("no reply was started")
    answer = turn.answer
    return Reply(
        text=turn.text,
        error=None if turn.error is None else str(turn.error),
        tokens_per_second=answer.tokens_per_second or 0.0,
        completion_tokens=answer.completion_tokens or 0,
    )


async def settle(app: Any, pilot: Any) -> None:
    """Let the title and sidebar workers that follow a reply finish (each may start more)."""
    while running := [w for w in app.workers if not w.is_finished]:
        await app.workers.wait_for_complete(running)
        await pilot.pause()


# -- `chatapp` in tmux ----------------------------------------------------------------------


def chatapp_command() -> str:
    """The installed console script, launched as a user launches it: with chatapp's
    modules compiled to bytecode (compile_chatapp)."""
    beside = Path(sys.executable).with_name("chatapp")
    found = str(beside) if beside.exists() else shutil.which("chatapp")
    if found is None:
        raise SystemExit("the `chatapp` command is not installed (pip install -e .)")
    compile_chatapp()
    return found


@functools.cache
def compile_chatapp() -> None:
    """Compile chatapp's modules to bytecode, as `pip install .` (the README's install)
    does when it installs them. An editable install has none until Python writes it on
    import, which PYTHONDONTWRITEBYTECODE turns off (it is set on the machines this is
    developed on): every launch would then compile all of chatapp again, about 100 ms
    that no installed copy pays, and the bare Textual app, whose library pip compiled,
    would not pay either."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("chatapp")
    folders = spec.submodule_search_locations if spec is not None else None
    for folder in folders or []:
        compileall.compile_dir(folder, quiet=1)


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


@contextlib.contextmanager
def tmux_server() -> Iterator[Tmux]:
    tmux = Tmux()
    try:
        yield tmux
    finally:
        tmux.close()


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


def server_config(work: Path, base_url: str, max_tokens: int) -> Path:
    """A chatapp config file whose default model is the llama_cpp.server at base_url."""
    config = work / "remote.toml"
    config.write_text(
        'default_model = "server"\n[models.server]\nbackend = "openai"\n'
        f'base_url = "{base_url}"\nmodel = "smollm2"\nn_ctx = 4096\n'
        f"temperature = 0.0\nmax_tokens = {max_tokens}\n"
    )
    return config


def chatapp_reply(tmux: Tmux, name: str, server: Server, question: str) -> float:
    """Ask in the running chatapp; the tokens/s its status bar shows for the reply, once
    the server is idle again."""
    tmux.keys(name, question, literal=True)
    tmux.keys(name, "Enter")
    tmux.wait_for(name, lambda text: "generating" in text, 30, 0.05)
    screen = tmux.wait_for(name, lambda text: STATUS_RATE.search(text) is not None, 120, 0.25)
    match = STATUS_RATE.search(screen)
    assert match is not None
    server.wait_until_idle()
    return float(match.group(1))


def new_chat(tmux: Tmux, name: str) -> None:
    """A new chat, seen on screen before typing, as a person would: in a burst, ctrl+n's
    binding can run after the Enter that follows it."""
    tmux.keys(name, "C-n")
    tmux.wait_for(name, lambda text: STATUS_RATE.search(text) is None, 30, 0.05)


# -- llama_cpp.server -----------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    base_url: str
    pid: int

    def wait_until_idle(self, quiet: float = 0.4, timeout: float = 60.0) -> None:
        """Until the server uses no CPU for a while: chatapp's title request, which follows
        a new conversation's first reply, is over (and cannot slow the next request)."""
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
    """llama_cpp.server with the bundled SmolLM2 on both cores."""
    from tests.fixtures.gguf import bundled_gguf
    from tests.fixtures.servers import start_llama_server, stop_process

    # Passive OpenMP threads, as chatapp runs llama.cpp itself: spinning ones lose most of
    # their speed to any other busy process on 2 cores (other benchmarks included), which
    # would swamp the client's own effect.
    server = start_llama_server(
        bundled_gguf(), 2, work / "llama_server.log", env={"OMP_WAIT_POLICY": "PASSIVE"}
    )
    try:
        yield Server(server.base_url, server.process.pid)
    finally:
        stop_process(server.process)


async def bare_reply(base_url: str, max_tokens: int) -> float:
    """A bare httpx client asking REMOTE_QUESTION: tokens/s as chatapp computes it."""
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
