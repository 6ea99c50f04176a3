"""What the HTTP backends share: the client with explicit timeouts, the one loop that
streams a reply, and failures mapped to the BackendError family with one-line messages
that never carry the API key."""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import email.utils
import json
import math
import re
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Generic
from urllib.parse import urlsplit, urlunsplit

import httpx

from chatapp.config import ModelConfig
from chatapp.core.backends.base import (
    APIKeyNotSet,
    AuthenticationFailed,
    BackendError,
    BackendTimeout,
    CannotConnect,
    ChatMessage,
    Chunk,
    ContextOverflow,
    GenerationParams,
    MalformedResponse,
    ModelNotFound,
    RateLimited,
    ServerError,
    StreamDropped,
)
from chatapp.core.backends.exchange import ReplyProgress, ServerRef
from chatapp.core.backends.framing import Framer, FrameT, ReplyDecoder, ReplyReader

# A server that has not accepted the connection in this long is down or unreachable;
# waiting the whole read timeout for it would only delay the message.
CONNECT_TIMEOUT = 10.0
# Error bodies are read whole; a misbehaving server must not make us buffer megabytes.
ERROR_BODY_LIMIT = 64 * 1024
DETAIL_CHARS = 200

_OVERFLOW_CODES = {"context_length_exceeded", "exceed_context_size_error"}
_OVERFLOW_WORDS = re.compile(
    r"context (length|size|window)|prompt is too long|too many tokens", re.IGNORECASE
)
# Wordings of llama.cpp's server, llama-cpp-python's server and OpenAI.
_N_CTX_PATTERNS = (
    re.compile(r"maximum context length is (\d+)", re.IGNORECASE),
    re.compile(r"context size \((\d+) tokens\)", re.IGNORECASE),
    re.compile(r"context window of (\d+)", re.IGNORECASE),
)
_PROMPT_PATTERNS = (
    re.compile(r"request \((\d+) tokens\)", re.IGNORECASE),
    re.compile(r"(\d+) in the messages", re.IGNORECASE),
    re.compile(r"resulted in (\d+) tokens", re.IGNORECASE),
    re.compile(r"requested tokens \((\d+)\)", re.IGNORECASE),
)
_ERRNO_PREFIX = re.compile(r"^\[Errno -?\d+\]\s*")


def request_timeout(config: ModelConfig) -> httpx.Timeout:
    """Read, write and pool waits from the config; connecting gets less."""
    return httpx.Timeout(config.timeout, connect=min(CONNECT_TIMEOUT, config.timeout))


def make_client(config: ModelConfig | None = None) -> httpx.AsyncClient:
    """The client the HTTP backends share, so replies reuse kept-alive connections.

    The backends pass each model's own timeouts with every request; the client's
    defaults only cover a request that does not.
    """
    timeout = request_timeout(config) if config else httpx.Timeout(60.0, connect=CONNECT_TIMEOUT)
    return httpx.AsyncClient(timeout=timeout)


def api_key(config: ModelConfig) -> str:
    """The key without the stray newline a key file or .env line often leaves on it."""
    return config.api_key.get_secret_value().strip() if config.api_key else ""


def auth_headers(config: ModelConfig) -> dict[str, str]:
    """The headers that carry the model's API key; APIKeyNotSet when api_key_env names a
    variable that is not set, since a request without the key would only be rejected."""
    secret = api_key(config)
    if not secret:
        if config.api_key_env:
            raise APIKeyNotSet(config.api_key_env, config.name)
        return {}
    # httpx would fail on a non-ASCII header with an error that is no BackendError.
    if not secret.isascii():
        where = config.api_key_env or "the configured key"
        raise BackendError(f"the API key in {where} has characters an HTTP header cannot carry")
    return {"Authorization": f"Bearer {secret}"}


def display_url(url: str) -> str:
    """The URL as error messages show it: no user:password@, no query string."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def server_ref(config: ModelConfig, url: str) -> ServerRef:
    """Who a request to `url` goes to, with the timeouts and key this model's config sets."""
    timeout = request_timeout(config)
    return ServerRef(
        url=display_url(url),
        model=config.model,
        key_env=config.api_key_env,
        read_timeout=timeout.read,
        connect_timeout=timeout.connect,
        secret=api_key(config) or None,
    )


@contextlib.contextmanager
def transport_errors(ref: ServerRef, progress: ReplyProgress) -> Iterator[None]:
    """Turn httpx's transport failures into BackendErrors, keeping any partial reply."""
    try:
        yield
    except httpx.ConnectTimeout as error:
        raise BackendTimeout(ref.url, ref.connect_timeout) from error
    except httpx.ConnectError as error:
        raise CannotConnect(ref.url, ref.scrub(_reason(error))) from error
    except httpx.TimeoutException as error:
        if progress.text:
            wait = f"no data for {ref.read_timeout:g} s" if ref.read_timeout else "timed out"
            raise StreamDropped(progress.text, wait) from error
        raise BackendTimeout(ref.url, ref.read_timeout) from error
    except (httpx.RemoteProtocolError, httpx.ReadError) as error:
        if progress.responded:
            raise StreamDropped(progress.text, "the server closed the connection") from error
        raise BackendError(
            f"the server at {ref.url} closed the connection without answering"
        ) from error
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        raise BackendError(f"request to {ref.url} failed: {ref.scrub(_reason(error))}") from error


async def error_for_response(ref: ServerRef, response: httpx.Response) -> BackendError:
    """The BackendError for a response with an error status; reads at most a small body."""
    body = bytearray()
    async for data in response.aiter_bytes():
        body += data
        if len(body) >= ERROR_BODY_LIMIT:
            break
    return error_for_status(ref, response.status_code, response.headers, bytes(body))


def error_for_status(
    ref: ServerRef, status: int, headers: Mapping[str, str], body: bytes
) -> BackendError:
    payload, message = parse_error_body(body)
    message = ref.scrub(message)
    if status in (401, 403):
        return AuthenticationFailed(ref.url, ref.key_env)
    if status == 429:
        return RateLimited(retry_after_seconds(headers.get("retry-after")))
    if status >= 500:
        return ServerError(status, message)
    if _error_code(payload) == "model_not_found" or (status == 404 and "model" in message.lower()):
        return ModelNotFound(ref.model or "(server default)", ref.url)
    if status == 404:
        return BackendError(f"{ref.url} has no such endpoint (404); check base_url")
    overflow = context_overflow(payload, message)
    if overflow is not None:
        return overflow
    return BackendError(f"the server rejected the request ({status}): {message or 'no detail'}")


def error_in_stream(ref: ServerRef, payload: object, progress: ReplyProgress) -> BackendError:
    """An error the server reported inside a stream that had started with HTTP 200."""
    _, message = _message_of(payload)
    message = ref.scrub(message) or "unknown error"
    if progress.text:
        return StreamDropped(progress.text, message)
    if _error_code(payload) == "model_not_found" or re.search(
        r"model .*not found", message, re.IGNORECASE
    ):
        return ModelNotFound(ref.model or "(server default)", ref.url)
    overflow = context_overflow(payload, message)
    if overflow is not None:
        return overflow
    return BackendError(f"the server reported an error: {message}")


def parse_error_body(body: bytes) -> tuple[object, str]:
    """The decoded JSON body (or None) and the server's message as one short line."""
    try:
        payload: object = json.loads(body)
    except ValueError:
        text = body.decode("utf-8", errors="replace")
        return None, _one_line(re.sub(r"<[^>]*>", " ", text))
    return _message_of(payload)


def context_overflow(payload: object, message: str) -> BackendError | None:
    """ContextOverflow when the server says the prompt is too long and gives the numbers;
    the server's own words when it says so without them; None when it is another error."""
    error = payload.get("error") if isinstance(payload, dict) else None
    details: dict[str, Any] = error if isinstance(error, dict) else {}
    code = _error_code(payload)
    if code not in _OVERFLOW_CODES and not _OVERFLOW_WORDS.search(message):
        return None
    prompt_tokens = _int_field(details, "n_prompt_tokens") or _first_number(
        _PROMPT_PATTERNS, message
    )
    n_ctx = _int_field(details, "n_ctx") or _first_number(_N_CTX_PATTERNS, message)
    if prompt_tokens and n_ctx:
        return ContextOverflow(prompt_tokens, n_ctx)
    return BackendError(f"the server rejected the request: {message or 'the prompt is too long'}")


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds to wait: it is either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        # The date has whole seconds; round up so a retry never comes early.
        seconds = math.ceil((when - (now or datetime.now(UTC))).total_seconds())
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _message_of(payload: object) -> tuple[object, str]:
    """Find the message in the shapes servers use: {"error": {"message"}}, {"error": "..."},
    {"detail": ...}, {"message": ...}."""
    if not isinstance(payload, dict):
        return payload, _one_line(str(payload)) if payload is not None else ""
    error = payload.get("error")
    if isinstance(error, dict):
        return payload, _one_line(str(error.get("message") or ""))
    for key in ("error", "detail", "message"):
        if payload.get(key):
            return payload, _one_line(str(payload[key]))
    return payload, ""


def _error_code(payload: object) -> str | None:
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return None
    for key in ("code", "type"):
        value = error.get(key)
        if isinstance(value, str) and value in _OVERFLOW_CODES | {"model_not_found"}:
            return value
    return None


def _int_field(details: dict[str, Any], key: str) -> int | None:
    value = details.get(key)
    return value if isinstance(value, int) and value > 0 else None


def _first_number(patterns: tuple[re.Pattern[str], ...], text: str) -> int | None:
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            return int(match.group(1))
    return None


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= DETAIL_CHARS else line[: DETAIL_CHARS - 1] + "…"


def _reason(error: Exception) -> str:
    return _ERRNO_PREFIX.sub("", _one_line(str(error))) or type(error).__name__


class HTTPBackend(abc.ABC, Generic[FrameT]):
    """What the OpenAI-compatible and Ollama backends share: config, the (maybe shared)
    client, the one loop that streams a reply, and fetching the server's model list.

    A subclass says where to post (`_chat_url`, `_request_body`), how its stream is framed
    (`_framer`) and how to read a frame (`_reply_reader`).
    """

    kind = "http"
    _chat_url: str

    def __init__(self, config: ModelConfig, client: httpx.AsyncClient | None = None) -> None:
        if not config.base_url:
            raise ValueError(f"an {self.kind} backend needs base_url")
        self._base_url = config.base_url
        self.name = config.name
        self.n_ctx = config.n_ctx
        self._config = config
        self._owns_client = client is None
        self._client = client or make_client(config)

    @property
    def ready(self) -> bool:
        """Always: a server is asked on each request, there is nothing to load here."""
        return True

    async def prepare(self) -> None:
        """Nothing to load; raises what would stop every request (an unset API key)
        without sending one. Whether the server answers shows on the first request."""
        auth_headers(self._config)

    def count_tokens(self, messages: list[ChatMessage]) -> int | None:
        return None

    def reserve(self, tokens: int) -> None:
        """Nothing to do: the server sizes its own context."""

    async def stream(
        self, messages: list[ChatMessage], params: GenerationParams
    ) -> AsyncGenerator[Chunk, None]:
        """Yield the reply's text as it arrives, then one Chunk with finish_reason and usage.

        Closing the generator (aclose, or cancelling the task iterating it) leaves the
        `async with` below, which closes the HTTP stream, so the server stops generating.
        """
        ref = self._server_ref()
        progress = ReplyProgress()
        decoder = ReplyDecoder(self._framer(), self._reply_reader(), ref, progress)
        with transport_errors(ref, progress):
            body = self._request_body(messages, params)
            async with self._post_stream(self._chat_url, body, ref, progress) as response:
                async for data in response.aiter_bytes():
                    for text in decoder.feed(data):
                        yield Chunk(text)
                    if decoder.done:
                        break
                else:
                    for text in decoder.finish():
                        yield Chunk(text)
        yield decoder.final_chunk()

    @abc.abstractmethod
    def _request_body(
        self, messages: list[ChatMessage], params: GenerationParams
    ) -> dict[str, Any]:
        """The JSON posted to `_chat_url` to ask for a streamed reply."""

    @abc.abstractmethod
    def _framer(self) -> Framer[FrameT]:
        """A fresh framer for one reply's bytes."""

    @abc.abstractmethod
    def _reply_reader(self) -> ReplyReader[FrameT]:
        """A fresh reader for one reply's frames."""

    @contextlib.asynccontextmanager
    async def _post_stream(
        self, url: str, body: dict[str, Any], ref: ServerRef, progress: ReplyProgress
    ) -> AsyncIterator[httpx.Response]:
        """POST a streaming request; a non-200 answer becomes its BackendError."""
        async with self._client.stream(
            "POST",
            url,
            json=body,
            headers=auth_headers(self._config),
            timeout=request_timeout(self._config),
        ) as response:
            if response.status_code != 200:
                raise await error_for_response(ref, response)
            progress.responded = True
            yield response

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def _server_ref(self) -> ServerRef:
        return server_ref(self._config, self._base_url)

    async def _model_list(self, url: str, key: str) -> list[dict[str, Any]]:
        """The entries under `key` of the JSON a model-list endpoint answers."""
        # Not about one model: a 404 here means a wrong base_url, not a missing model.
        ref = dataclasses.replace(self._server_ref(), model=None)
        with transport_errors(ref, ReplyProgress()):
            response = await self._client.get(
                url, headers=auth_headers(self._config), timeout=request_timeout(self._config)
            )
        if response.status_code != 200:
            raise error_for_status(ref, response.status_code, response.headers, response.content)
        try:
            entries = response.json().get(key) or []
        except (ValueError, AttributeError):
            raise MalformedResponse(f"{url} did not answer a model list") from None
        return [entry for entry in entries if isinstance(entry, dict)]
