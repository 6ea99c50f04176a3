"""The in-process llama.cpp backend, run against the real bundled SmolLM2 model."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from chatapp.config import ModelConfig
from chatapp.core.backends.base import (
    ChatMessage,
    Chunk,
    ContextOverflow,
    GenerationParams,
    ModelFileMissing,
    ModelLoadFailed,
    NotAGGUFFile,
)
from chatapp.core.backends.llama_file import bundled_model_path
from chatapp.core.backends.llama_local import LlamaBackend

QUESTION: list[ChatMessage] = [
    {"role": "system", "content": "You are a helpful assistant. Answer in English."},
    {"role": "user", "content": "What is the capital of France?"},
]
STORY: list[ChatMessage] = [
    {"role": "user", "content": "Write a very long story about a dragon who learns to cook."}
]
# Greedy and short: the tests need a reply, not a good one.
SHORT = GenerationParams(max_tokens=24, temperature=0.0, seed=1)
LONG = GenerationParams(max_tokens=400, temperature=0.7, seed=1)


def smollm2(**overrides: object) -> ModelConfig:
    values: dict[str, object] = {"name": "smollm2", "backend": "llama", "n_ctx": 2048}
    values.update(overrides)
    return ModelConfig.validated(values)


@pytest.fixture(scope="module")
def backend() -> Iterator[LlamaBackend]:
    """One loaded model for the whole module, as the app keeps one for a session."""
    model = LlamaBackend(smollm2())
    model.load()
    yield model
    asyncio.run(model.aclose())


async def collect(stream: AsyncIterator[Chunk]) -> tuple[str, Chunk]:
    parts: list[str] = []
    final = Chunk()
    async for chunk in stream:
        parts.append(chunk.text)
        if chunk.finish_reason:
            final = chunk
    return "".join(parts), final


def test_bundled_model_is_found_without_importing_its_package() -> None:
    path = bundled_model_path()
    assert path.suffix == ".gguf"
    assert path.stat().st_size > 50_000_000


async def test_answers_a_question(backend: LlamaBackend) -> None:
    text, final = await collect(backend.stream(QUESTION, SHORT))

    assert text.strip()
    assert final.finish_reason in {"stop", "length"}
    assert final.usage is not None
    assert final.usage.prompt_tokens == backend.count_tokens(QUESTION)
    assert 0 < final.usage.completion_tokens <= SHORT.max_tokens
    assert final.usage.time_to_first_token is not None
    assert final.usage.time_to_first_token > 0


async def test_max_tokens_ends_the_reply_with_length(backend: LlamaBackend) -> None:
    _, final = await collect(backend.stream(STORY, GenerationParams(max_tokens=5, seed=1)))

    assert final.finish_reason == "length"
    assert final.usage is not None
    assert final.usage.completion_tokens == 5


async def test_stop_strings_end_the_reply(backend: LlamaBackend) -> None:
    params = GenerationParams(max_tokens=64, temperature=0.0, stop=(" ",))

    text, final = await collect(backend.stream(STORY, params))

    assert " " not in text.strip()
    assert final.finish_reason == "stop"


async def test_a_busy_consumer_gets_the_text_in_batches(backend: LlamaBackend) -> None:
    chunks: list[Chunk] = []
    async for chunk in backend.stream(STORY, GenerationParams(max_tokens=30, temperature=0.0)):
        chunks.append(chunk)
        # Blocks the event loop as a UI busy rendering would; tokens pile up meanwhile.
        time.sleep(0.1)

    final = chunks[-1]
    assert final.usage is not None and final.usage.completion_tokens
    assert len([chunk for chunk in chunks if chunk.text]) < final.usage.completion_tokens
    assert final.finish_reason == "length"


async def test_closing_the_stream_stops_generation_and_frees_the_model(
    backend: LlamaBackend,
) -> None:
    stream = backend.stream(STORY, LONG)
    seen = 0
    async for _ in stream:
        seen += 1
        if seen == 3:
            break
    started = time.perf_counter()
    await stream.aclose()

    assert time.perf_counter() - started < 0.5
    # The next request does not wait for the rest of the 400-token story.
    text, final = await collect(backend.stream(QUESTION, SHORT))
    assert text.strip()
    assert final.usage is not None and final.usage.time_to_first_token is not None
    assert final.usage.time_to_first_token < 1.0


async def test_cancelling_the_consumer_task_stops_generation(backend: LlamaBackend) -> None:
    first_chunk = asyncio.Event()

    async def consume() -> None:
        async for _ in backend.stream(STORY, LONG):
            first_chunk.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_chunk.wait(), timeout=30)
    started = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert time.perf_counter() - started < 0.5
    text, final = await collect(backend.stream(QUESTION, SHORT))
    assert text.strip()
    assert final.usage is not None and final.usage.time_to_first_token is not None
    assert final.usage.time_to_first_token < 1.0


async def test_the_model_loads_once_and_serves_every_turn(backend: LlamaBackend) -> None:
    llama = backend.llama

    await collect(backend.stream(QUESTION, SHORT))
    backend.count_tokens(QUESTION)
    await collect(backend.stream(QUESTION, SHORT))

    assert backend.llama is llama


def test_concurrent_loads_share_one_model() -> None:
    fresh = LlamaBackend(smollm2())
    assert not fresh.loaded
    threads = [threading.Thread(target=fresh.load) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    llama = fresh.llama

    fresh.load()

    assert fresh.loaded
    assert fresh.llama is llama
    asyncio.run(fresh.aclose())


async def test_a_prompt_longer_than_the_context_is_refused() -> None:
    small = LlamaBackend(smollm2(n_ctx=64))
    long_question: list[ChatMessage] = [{"role": "user", "content": "Paris is lovely. " * 40}]

    with pytest.raises(ContextOverflow) as caught:
        await collect(small.stream(long_question, SHORT))

    assert caught.value.n_ctx == 64
    assert caught.value.prompt_tokens == small.count_tokens(long_question) > 64
    # A prompt that fits still gets an answer (cut short by the tiny window).
    text, _ = await collect(small.stream([{"role": "user", "content": "Hi"}], SHORT))
    assert text
    await small.aclose()


async def test_a_file_that_is_not_a_gguf_is_refused_before_llama_cpp_sees_it(
    tmp_path: Path,
) -> None:
    text = tmp_path / "notes.gguf"
    text.write_bytes(b"hello, these are notes " * 100)
    broken = LlamaBackend(smollm2(path=text))

    with pytest.raises(NotAGGUFFile) as caught:
        broken.load()
    assert str(caught.value) == (
        f"model smollm2: {text} is not a GGUF file (it starts with 'hell', not 'GGUF')"
    )

    with pytest.raises(NotAGGUFFile):
        await collect(broken.stream(QUESTION, SHORT))
    assert not broken.loaded


async def test_a_damaged_gguf_fails_to_load_with_one_line(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.gguf"
    damaged.write_bytes(b"GGUF" + b"not a model " * 100)
    broken = LlamaBackend(smollm2(path=damaged))

    with pytest.raises(ModelLoadFailed) as caught:
        broken.load()
    assert str(caught.value) == (
        f"cannot load model {damaged}: "
        "llama.cpp cannot read it (a damaged file, or an unsupported model)"
    )

    with pytest.raises(ModelLoadFailed):
        await collect(broken.stream(QUESTION, SHORT))
    assert not broken.loaded


def test_a_missing_model_file_fails_to_load(tmp_path: Path) -> None:
    nowhere = tmp_path / "nowhere.gguf"
    missing = LlamaBackend(smollm2(path=nowhere))

    with pytest.raises(ModelFileMissing) as caught:
        missing.load()
    assert str(caught.value) == f"model smollm2: no file at {nowhere}"


def test_count_tokens_grows_with_the_prompt(backend: LlamaBackend) -> None:
    one_turn = backend.count_tokens(QUESTION)
    longer = backend.count_tokens(
        [QUESTION[0], {"role": "user", "content": "What is the capital city of France, please?"}]
    )
    two_turns = backend.count_tokens(
        [
            *QUESTION,
            {"role": "assistant", "content": "The capital of France is Paris."},
            {"role": "user", "content": "And of Italy?"},
        ]
    )

    assert 0 < one_turn < longer < two_turns


async def test_list_models_names_the_file(backend: LlamaBackend) -> None:
    [info] = await backend.list_models()

    assert info.backend == "llama"
    assert info.n_ctx == 2048
    assert info.details["path"] == str(bundled_model_path())
