"""A model served by Ollama: /api/chat streamed as newline-delimited JSON."""

from __future__ import annotations

import json
from typing import Any

import httpx

from chatapp.config import ModelConfig
from chatapp.core.backends.base import (
    BackendError,
    ChatMessage,
    Chunk,
    GenerationParams,
    MalformedResponse,
    ModelInfo,
    StreamDropped,
)
from chatapp.core.backends.exchange import ReplyProgress, ServerRef
from chatapp.core.backends.framing import NDJSONLines
from chatapp.core.backends.http import HTTPBackend, error_in_stream

__all__ = ["NDJSONLines", "OllamaBackend", "OllamaReply", "ollama_url"]

# Ollama reports durations in nanoseconds.
_NS = 1e-9


def ollama_url(base_url: str, path: str) -> str:
    """base_url may be given with or without the /api suffix."""
    return base_url.rstrip("/").removesuffix("/api") + path


class OllamaBackend(HTTPBackend[bytes]):
    """An Ollama model; closing a stream hangs up, and Ollama stops generating then."""

    kind = "Ollama"

    def __init__(self, config: ModelConfig, client: httpx.AsyncClient | None = None) -> None:
        super().__init__(config, client)
        if not config.model:
            raise BackendError(f"model {config.name!r} needs the name of an Ollama model in model")
        self._chat_url = ollama_url(self._base_url, "/api/chat")
        self._tags_url = ollama_url(self._base_url, "/api/tags")

    async def list_models(self) -> list[ModelInfo]:
        return [_model_info(entry) for entry in await self._model_list(self._tags_url, "models")]

    def _request_body(
        self, messages: list[ChatMessage], params: GenerationParams
    ) -> dict[str, Any]:
        return {
            "model": self._config.model,
            "messages": messages,
            "stream": True,
            "options": self._options(params),
        }

    def _options(self, params: GenerationParams) -> dict[str, Any]:
        # Without num_ctx Ollama silently cuts the prompt at its default of 2048 tokens.
        options: dict[str, Any] = {"num_ctx": self.n_ctx, "num_predict": params.max_tokens}
        for key in ("temperature", "top_p", "top_k", "repeat_penalty", "seed"):
            value = getattr(params, key)
            if value is not None:
                options[key] = value
        if params.stop:
            options["stop"] = list(params.stop)
        return options

    def _framer(self) -> NDJSONLines:
        return NDJSONLines()

    def _reply_reader(self) -> OllamaReply:
        return OllamaReply()


class OllamaReply:
    """What the lines of one reply have said so far besides their text."""

    def __init__(self) -> None:
        self.done = False
        self.done_reason: str | None = None
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.seconds: float | None = None

    def read(self, line: bytes, ref: ServerRef, progress: ReplyProgress) -> list[str]:
        """The text one line carries; records the final line's reason and counts."""
        if self.done:
            return []
        try:
            payload = json.loads(line)
        except ValueError:
            raise MalformedResponse(f"not JSON: {_excerpt(line)}") from None
        if not isinstance(payload, dict):
            raise MalformedResponse(f"not a JSON object: {_excerpt(line)}")
        # Ollama reports a failure after the stream has started as an error line under 200.
        if "error" in payload:
            raise error_in_stream(ref, payload, progress)
        if payload.get("done"):
            self._read_final(payload)
        message = payload.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        return [content] if isinstance(content, str) and content else []

    def final_chunk(self, progress: ReplyProgress) -> Chunk:
        if not self.done:
            raise StreamDropped(progress.text, "the stream ended before the reply did")
        return Chunk(
            finish_reason=self.done_reason,
            usage=progress.usage(self.prompt_tokens, self.completion_tokens, self.seconds),
        )

    def _read_final(self, payload: dict[str, Any]) -> None:
        self.done = True
        self.done_reason = str(payload.get("done_reason") or "stop")
        self.prompt_tokens = _count(payload, "prompt_eval_count")
        self.completion_tokens = _count(payload, "eval_count")
        duration = _count(payload, "eval_duration")
        self.seconds = duration * _NS if duration else None


def _count(payload: dict[str, Any], key: str) -> int | None:
    value = payload.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _model_info(entry: dict[str, Any]) -> ModelInfo:
    details = {key: value for key, value in entry.items() if key not in ("name", "model")}
    name = entry.get("name") or entry.get("model") or ""
    return ModelInfo(name=str(name), backend="ollama", details=details)


def _excerpt(line: bytes) -> str:
    text = line.decode("utf-8", errors="replace").strip()
    return text if len(text) <= 80 else text[:79] + "…"
