"""OllamaBackend against a loopback peer that speaks Ollama's documented NDJSON."""

from __future__ import annotations

import contextlib

from chatapp.core.backends.base import (
    BackendError,
    ChatMessage,
    Chunk,
    GenerationParams,
    ModelNotFound,
    StreamDropped,
)
from chatapp.core.backends.ollama_http import NDJSONLines, OllamaBackend
from tests.fixtures.servers import (
    OLLAMA_ERROR,
    OLLAMA_EVAL_DURATION_NS,
    OLLAMA_MODELS,
    OLLAMA_PROMPT_EVAL_COUNT,
    OLLAMA_TOKENS,
    OllamaServer,
)

MESSAGES: list[ChatMessage] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Why is the sky blue?"},
]


async def run(
    backend: OllamaBackend, params: GenerationParams | None = None
) -> tuple[list[Chunk], BackendError | None]:
    chunks: list[Chunk] = []
    try:
        async with contextlib.aclosing(
            backend.stream(MESSAGES, params or GenerationParams())
        ) as stream:
            async for chunk in stream:
                chunks.append(chunk)
    except BackendError as error:
        return chunks, error
    finally:
        await backend.aclose()
    return chunks, None


async def test_streams_the_tokens_then_counts(ollama_server: OllamaServer) -> None:
    chunks, error = await run(OllamaBackend(ollama_server.config()))
    assert error is None
    *texts, final = chunks
    assert [chunk.text for chunk in texts] == list(OLLAMA_TOKENS)
    assert final.finish_reason == "stop"
    assert final.usage is not None
    assert final.usage.prompt_tokens == OLLAMA_PROMPT_EVAL_COUNT
    assert final.usage.completion_tokens == len(OLLAMA_TOKENS)
    # Ollama's own eval_duration, not our clock, so tokens/s matches `ollama run --verbose`.
    assert final.usage.generation_seconds == OLLAMA_EVAL_DURATION_NS / 1e9
    assert final.usage.time_to_first_token is not None


async def test_missing_counts_fall_back_to_what_was_seen(ollama_server: OllamaServer) -> None:
    chunks, error = await run(OllamaBackend(ollama_server.config("tiny-no-counts:latest")))
    assert error is None
    usage = chunks[-1].usage
    assert usage is not None
    assert usage.prompt_tokens is None
    assert usage.completion_tokens == len(OLLAMA_TOKENS)
    assert usage.generation_seconds is not None and usage.generation_seconds >= 0


async def test_sends_num_ctx_and_params(ollama_server: OllamaServer) -> None:
    params = GenerationParams(
        max_tokens=3, temperature=0.2, top_p=0.9, top_k=40, repeat_penalty=1.1, seed=42
    )
    chunks, _ = await run(OllamaBackend(ollama_server.config(n_ctx=8192)), params)
    request = ollama_server.last_chat_request()
    assert request.body["model"] == "tiny:latest"
    assert request.body["messages"] == MESSAGES
    assert request.body["stream"] is True
    assert request.body["options"] == {
        "num_ctx": 8192,
        "num_predict": 3,
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 40,
        "repeat_penalty": 1.1,
        "seed": 42,
    }
    # The peer honours num_predict, so the reply is cut and says so.
    assert "".join(chunk.text for chunk in chunks) == "".join(OLLAMA_TOKENS[:3])
    assert chunks[-1].finish_reason == "length"


async def test_error_line_under_200_midway_keeps_the_partial(ollama_server: OllamaServer) -> None:
    chunks, error = await run(OllamaBackend(ollama_server.config("tiny-error:latest")))
    assert isinstance(error, StreamDropped)
    assert error.partial == "".join(OLLAMA_TOKENS) == "".join(chunk.text for chunk in chunks)
    assert str(error).endswith(f"stopped midway and is incomplete ({OLLAMA_ERROR})")


async def test_error_line_saying_model_not_found(ollama_server: OllamaServer) -> None:
    chunks, error = await run(OllamaBackend(ollama_server.config("tiny-gone:latest")))
    assert chunks == []
    assert isinstance(error, ModelNotFound)
    assert str(error) == f"model 'tiny-gone:latest' not found at {ollama_server.base_url}"


async def test_unknown_model_is_a_404(ollama_server: OllamaServer) -> None:
    _, error = await run(OllamaBackend(ollama_server.config("llama9:latest")))
    assert isinstance(error, ModelNotFound)
    assert str(error) == f"model 'llama9:latest' not found at {ollama_server.base_url}"


async def test_list_models(ollama_server: OllamaServer) -> None:
    backend = OllamaBackend(ollama_server.config(base_url=ollama_server.base_url + "/"))
    try:
        models = await backend.list_models()
    finally:
        await backend.aclose()
    assert [model.name for model in models] == list(OLLAMA_MODELS)
    assert {model.backend for model in models} == {"ollama"}
    assert models[0].details["details"]["quantization_level"] == "Q4_K_M"


def test_ndjson_lines_split_anywhere() -> None:
    stream = b'{"a": 1}\n{"b": 2}\r\n\n{"c": 3}'
    for cut in range(1, len(stream)):
        lines = NDJSONLines()
        got = lines.feed(stream[:cut]) + lines.feed(stream[cut:]) + lines.finish()
        assert [line.strip() for line in got] == [b'{"a": 1}', b'{"b": 2}', b'{"c": 3}'], cut
