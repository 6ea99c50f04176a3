"""The backend contract: what every model backend streams, and the errors it raises."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypedDict

from chatapp.core.errors import BackendError, ConfigError

__all__ = ["BackendError"]


class ChatMessage(TypedDict):
    role: str
    content: str


@dataclass(frozen=True, slots=True)
class GenerationParams:
    max_tokens: int = 512
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repeat_penalty: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The params that were set, for storing beside a reply."""
        values = {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "repeat_penalty": self.repeat_penalty,
            "seed": self.seed,
            "stop": list(self.stop) or None,
        }
        return {k: v for k, v in values.items() if v is not None}


@dataclass(slots=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    # Seconds from the request to the first token, and from the first token to the last.
    time_to_first_token: float | None = None
    generation_seconds: float | None = None

    @property
    def tokens_per_second(self) -> float | None:
        if not self.completion_tokens or not self.generation_seconds:
            return None
        return self.completion_tokens / self.generation_seconds


@dataclass(slots=True)
class Chunk:
    """A piece of a streamed reply. The last chunk carries finish_reason and usage."""

    text: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None


@dataclass(slots=True)
class ModelInfo:
    name: str
    backend: str
    n_ctx: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


class Backend(Protocol):
    """A model that streams chat replies.

    Readiness: ``ready`` says whether a reply can start now without a long wait (a local
    model must load first); ``await prepare()`` makes it so, raising the BackendError that
    stops it (a model file that cannot load). Streaming without preparing works too, the
    first reply just waits for the load.

    Cancelling: the consumer stops iterating and closes the stream (``aclose()``,
    or task cancellation); the backend must stop generating promptly.
    """

    name: str
    n_ctx: int

    @property
    def ready(self) -> bool:
        """True when a reply can start now without a long wait."""
        ...

    async def prepare(self) -> None:
        """Make the backend ready (load a local model off the event loop)."""
        ...

    def stream(
        self, messages: list[ChatMessage], params: GenerationParams
    ) -> AsyncGenerator[Chunk, None]: ...

    async def list_models(self) -> list[ModelInfo]: ...

    def count_tokens(self, messages: list[ChatMessage]) -> int | None:
        """Exact prompt size with the backend's tokenizer, or None if it has none."""
        ...

    def reserve(self, tokens: int) -> None:
        """Get ready, in the background, for a prompt and reply of about this many tokens
        (a local model grows its window); returns at once."""
        ...

    async def aclose(self) -> None: ...


class CannotConnect(BackendError):
    def __init__(self, url: str, reason: str = "") -> None:
        self.url = url
        detail = f" ({reason})" if reason else ""
        super().__init__(f"cannot connect to {url}{detail}: is the server running?")


class AuthenticationFailed(BackendError):
    def __init__(self, url: str, key_env: str | None = None) -> None:
        self.url = url
        hint = f"; check {key_env}" if key_env else "; set api_key_env for this model"
        super().__init__(f"the server at {url} rejected the API key{hint}")


class ModelNotFound(BackendError):
    def __init__(self, model: str, url: str) -> None:
        self.model = model
        super().__init__(f"model {model!r} not found at {url}")


class RateLimited(BackendError):
    def __init__(self, retry_after: float | None) -> None:
        self.retry_after = retry_after
        wait = f"; retry in {retry_after:g} s" if retry_after is not None else ""
        super().__init__(f"rate limited by the server{wait}")


class ServerError(BackendError):
    def __init__(self, status: int, detail: str = "") -> None:
        self.status = status
        extra = f": {detail}" if detail else ""
        super().__init__(f"server error {status}{extra}")


class BackendTimeout(BackendError):
    def __init__(self, url: str, seconds: float | None) -> None:
        self.url = url
        after = f" after {seconds:g} s" if seconds else ""
        super().__init__(f"no answer from {url}{after} (timed out)")


class StreamDropped(BackendError):
    """The stream ended before the reply did; partial holds what arrived."""

    def __init__(self, partial: str = "", reason: str = "") -> None:
        self.partial = partial
        extra = f" ({reason})" if reason else ""
        super().__init__(f"the reply stopped midway and is incomplete{extra}")


class MalformedResponse(BackendError):
    def __init__(self, detail: str) -> None:
        super().__init__(f"malformed response from the server: {detail}")


class ContextOverflow(BackendError):
    """The prompt does not fit the model's context window. max_tokens is what was kept
    for the reply (0 when unknown, e.g. a server's own count); advice, what the user can
    do about it in the face that shows it."""

    def __init__(
        self, prompt_tokens: int, n_ctx: int, max_tokens: int = 0, advice: str = ""
    ) -> None:
        self.prompt_tokens = prompt_tokens
        self.n_ctx = n_ctx
        self.max_tokens = max_tokens
        if max_tokens:
            detail = (
                f"only {self.budget:,} fit: the context window is {n_ctx:,} tokens and "
                f"{max_tokens:,} are kept for the reply"
            )
        else:
            detail = f"more than the context window of {n_ctx:,}"
        message = f"the prompt is too long: {prompt_tokens:,} tokens, {detail}"
        super().__init__(f"{message}; {advice}" if advice else message)

    @property
    def budget(self) -> int:
        """Tokens the prompt may use."""
        return self.n_ctx - self.max_tokens


class ModelLoadFailed(BackendError):
    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(f"cannot load model {path}: {reason}")


class ModelFileError(BackendError):
    """A local model's file fails the checks made before llama.cpp loads it. str() names
    the model and the file; status is the short form `chatapp models` and the model
    picker show beside the model's name."""

    def __init__(self, model: str, path: Path, problem: str, status: str) -> None:
        self.model = model
        self.path = path
        self.status = status
        super().__init__(f"model {model}: {problem}")


class ModelFileMissing(ModelFileError):
    def __init__(self, model: str, path: Path) -> None:
        super().__init__(model, path, f"no file at {path}", f"missing: no file at {path}")


class ModelFileUnreadable(ModelFileError):
    def __init__(self, model: str, path: Path, reason: str) -> None:
        self.reason = reason
        super().__init__(
            model, path, f"cannot read {path}: {reason}", f"unreadable: {path}: {reason}"
        )


class NotAGGUFFile(ModelFileError):
    """The file does not start with the GGUF magic bytes; head is what it starts with."""

    def __init__(self, model: str, path: Path, head: bytes) -> None:
        self.head = head
        starts = f"it starts with {_shown(head)}, not 'GGUF'" if head else "it is empty"
        super().__init__(
            model, path, f"{path} is not a GGUF file ({starts})", f"not a GGUF file: {path}"
        )


def _shown(head: bytes) -> str:
    """A file's first bytes, quoted, as one printable line."""
    text = "".join(chr(byte) if 0x20 <= byte < 0x7F else f"\\x{byte:02x}" for byte in head)
    return f"'{text}'"


class APIKeyNotSet(ConfigError, BackendError):
    """A model's api_key_env names a variable that is not set (or is empty).

    Found before any request, which the server would only reject. A ConfigError by its
    cause; a BackendError as well, so a reply it stops fails like any other backend
    failure (the question kept, the error shown) and a title request falls back.
    """

    def __init__(self, key_env: str, model: str) -> None:
        self.key_env = key_env
        self.model = model
        super().__init__(f"{key_env} is not set (api_key_env of model {model})")
