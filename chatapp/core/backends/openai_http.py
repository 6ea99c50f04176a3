"""A model behind an OpenAI-compatible server (llama.cpp, vLLM, LM Studio, OpenAI...):
/v1/chat/completions streamed as Server-Sent Events."""

from __future__ import annotations

import json
from typing import Any

import httpx

from chatapp.config import ModelConfig
from chatapp.core.backends.base import (
    ChatMessage,
    Chunk,
    GenerationParams,
    MalformedResponse,
    ModelInfo,
    StreamDropped,
)
from chatapp.core.backends.exchange import ReplyProgress, ServerRef
from chatapp.core.backends.http import HTTPBackend, error_in_stream
from chatapp.core.backends.sse import ServerSentEvent, SSEParser

# Keys a server may use for a model's context size in /v1/models (vLLM, LM Studio, ...).
_N_CTX_KEYS = ("context_length", "max_model_len", "max_context_length")


def api_url(base_url: str, path: str) -> str:
    """base_url may be given with or without the /v1 suffix; both mean the same server."""
    base = base_url.rstrip("/").removesuffix("/v1")
    return f"{base}/v1{path}"


class OpenAIBackend(HTTPBackend[ServerSentEvent]):
    kind = "OpenAI-compatible"

    def __init__(self, config: ModelConfig, client: httpx.AsyncClient | None = None) -> None:
        super().__init__(config, client)
        self._chat_url = api_url(self._base_url, "/chat/completions")
        self._models_url = api_url(self._base_url, "/models")

    async def list_models(self) -> list[ModelInfo]:
        return [_model_info(entry) for entry in await self._model_list(self._models_url, "data")]

    def _request_body(
        self, messages: list[ChatMessage], params: GenerationParams
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messages": messages,
            "stream": True,
            # Without this most servers send no token counts when streaming.
            "stream_options": {"include_usage": True},
        }
        if self._config.model:
            body["model"] = self._config.model
        # top_k and repeat_penalty are not OpenAI's; send them only when asked for,
        # since strict servers reject unknown parameters.
        body.update(params.to_dict())
        return body

    def _framer(self) -> SSEParser:
        return SSEParser()

    def _reply_reader(self) -> OpenAIReply:
        return OpenAIReply()


class OpenAIReply:
    """What the chat.completion.chunk events of one reply have said so far."""

    def __init__(self) -> None:
        self.done = False
        self.finish_reason: str | None = None
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None

    def read(self, event: ServerSentEvent, ref: ServerRef, progress: ReplyProgress) -> list[str]:
        """The text pieces one event carries; records finish_reason, usage and [DONE]."""
        if self.done or event.event not in ("message", "error"):
            return []
        if event.data.strip() == "[DONE]":
            self.done = True
            return []
        try:
            payload = json.loads(event.data)
        except ValueError:
            raise MalformedResponse(f"not JSON: {_excerpt(event.data)}") from None
        if not isinstance(payload, dict):
            raise MalformedResponse(f"not a JSON object: {_excerpt(event.data)}")
        if event.event == "error" or "error" in payload:
            raise error_in_stream(ref, payload, progress)
        self._read_usage(payload.get("usage"))
        return [text for text in map(self._read_choice, _choices(payload)) if text]

    def final_chunk(self, progress: ReplyProgress) -> Chunk:
        if self.finish_reason is None and not self.done:
            raise StreamDropped(progress.text, "the stream ended early")
        # Some servers end a reply with [DONE] and never send a finish_reason. So does
        # llama_cpp.server when another request interrupts this one (its
        # interrupt_requests, on by default): the stream itself cannot tell the two apart.
        return Chunk(
            finish_reason=self.finish_reason or "stop",
            usage=progress.usage(self.prompt_tokens, self.completion_tokens),
        )

    def _read_choice(self, choice: dict[str, Any]) -> str:
        if choice.get("finish_reason"):
            self.finish_reason = str(choice["finish_reason"])
        delta = choice.get("delta")
        content = delta.get("content") if isinstance(delta, dict) else None
        return content if isinstance(content, str) else ""

    def _read_usage(self, usage: object) -> None:
        if not isinstance(usage, dict):
            return
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(prompt, int):
            self.prompt_tokens = prompt
        if isinstance(completion, int):
            self.completion_tokens = completion


def _choices(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The first choice only: we never ask for n > 1, and the usage chunk has none."""
    choices = payload.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return [choices[0]]
    return []


def _model_info(entry: dict[str, Any]) -> ModelInfo:
    n_ctx = next((entry[key] for key in _N_CTX_KEYS if isinstance(entry.get(key), int)), None)
    meta = entry.get("meta")
    if n_ctx is None and isinstance(meta, dict) and isinstance(meta.get("n_ctx_train"), int):
        n_ctx = meta["n_ctx_train"]
    return ModelInfo(name=str(entry.get("id", "")), backend="openai", n_ctx=n_ctx, details=entry)


def _excerpt(text: str) -> str:
    return text if len(text) <= 80 else text[:79] + "…"
