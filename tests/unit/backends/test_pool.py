"""ModelPool: one backend per model, one loaded Llama per model file, readiness on the cheap."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chatapp.config import ConfigError, Settings
from chatapp.core.backends.base import (
    APIKeyNotSet,
    ChatMessage,
    Chunk,
    GenerationParams,
    ModelLoadFailed,
    NotAGGUFFile,
)
from chatapp.core.backends.llama_file import bundled_model_path
from chatapp.core.backends.llama_local import LlamaBackend
from chatapp.core.backends.pool import ModelPool

QUESTION: list[ChatMessage] = [{"role": "user", "content": "What is the capital of France?"}]
# Small: two cores, and two replies decoded one after the other.
SHORT = GenerationParams(max_tokens=16, temperature=0.0, seed=1)


def make_settings(tmp_path: Path, **models: dict[str, Any]) -> Settings:
    return Settings.validated({"data_dir": str(tmp_path), "models": models})


@pytest.fixture
def two_on_one_file(tmp_path: Path) -> Settings:
    """The embedded model and a terse variant of it: the same GGUF, spelt two ways."""
    return make_settings(
        tmp_path,
        smollm2={"backend": "llama", "n_ctx": 2048},
        terse={
            "backend": "llama",
            "path": str(bundled_model_path()),
            "n_ctx": 1024,
            "system_prompt": "Answer in one word.",
            "temperature": 0.7,
        },
    )


async def collect(stream: Any) -> tuple[str, Chunk]:
    parts: list[str] = []
    final = Chunk()
    async for chunk in stream:
        parts.append(chunk.text)
        if chunk.finish_reason:
            final = chunk
    return "".join(parts), final


def local(pool: ModelPool, name: str) -> LlamaBackend:
    backend = pool.get(name)
    assert isinstance(backend, LlamaBackend)
    return backend


async def test_models_on_one_file_share_one_llama_and_take_turns(
    two_on_one_file: Settings,
) -> None:
    pool = ModelPool(two_on_one_file)
    try:
        await asyncio.gather(pool.prepare("smollm2"), pool.prepare("terse"))
        embedded, terse = local(pool, "smollm2"), local(pool, "terse")

        assert embedded.llama is terse.llama
        # The shared Llama has room for the larger window; each model budgets its own.
        assert embedded.llama.n_ctx() == 2048
        assert (embedded.n_ctx, terse.n_ctx) == (2048, 1024)

        replies = await asyncio.gather(
            collect(embedded.stream(QUESTION, SHORT)), collect(terse.stream(QUESTION, SHORT))
        )
        for text, final in replies:
            assert text.strip()
            assert final.finish_reason in {"stop", "length"}
    finally:
        await pool.aclose()


async def test_a_local_model_is_ready_once_prepared(two_on_one_file: Settings) -> None:
    pool = ModelPool(two_on_one_file)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        assert not pool.ready("smollm2")
        await pool.prepare("smollm2")
        assert pool.ready("smollm2")
        # Making the backend and loading the model left the event loop free meanwhile.
        assert ticks >= 3
    finally:
        ticker.cancel()
        await pool.aclose()


async def test_a_model_that_cannot_load_stays_unready(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"GGUF" + b"not a model " * 100)
    pool = ModelPool(make_settings(tmp_path, broken={"backend": "llama", "path": str(bogus)}))
    try:
        with pytest.raises(ModelLoadFailed) as caught:
            await pool.prepare("broken")
        assert str(bogus) in str(caught.value)
        assert not pool.ready("broken")
    finally:
        await pool.aclose()


async def test_prepare_names_the_model_whose_file_is_not_a_gguf(tmp_path: Path) -> None:
    text = tmp_path / "readme.gguf"
    text.write_text("# not a model\n")
    pool = ModelPool(make_settings(tmp_path, notes={"backend": "llama", "path": str(text)}))
    try:
        with pytest.raises(NotAGGUFFile) as caught:
            await pool.prepare("notes")
        assert str(caught.value) == (
            f"model notes: {text} is not a GGUF file (it starts with '# no', not 'GGUF')"
        )
        assert not pool.ready("notes")
    finally:
        await pool.aclose()


async def test_prepare_refuses_a_remote_model_whose_key_is_not_set(tmp_path: Path) -> None:
    remote = {"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key_env": "NO_KEY"}
    pool = ModelPool(make_settings(tmp_path, gpt=remote))
    try:
        with pytest.raises(APIKeyNotSet) as caught:
            await pool.prepare("gpt")
        assert isinstance(caught.value, ConfigError)
        assert str(caught.value) == "NO_KEY is not set (api_key_env of model gpt)"
    finally:
        await pool.aclose()


async def test_remote_models_are_always_ready_and_share_one_client(tmp_path: Path) -> None:
    remote = {"backend": "openai", "base_url": "http://127.0.0.1:9/v1"}
    pool = ModelPool(make_settings(tmp_path, a=remote, b=remote | {"model": "other"}))
    try:
        assert pool.ready("a")
        await pool.prepare("a")
        assert pool.ready("a") and pool.get("a").ready
        assert pool.get("a") is pool.get("a")
        assert pool.get("a")._client is pool.get("b")._client  # type: ignore[attr-defined]
    finally:
        await pool.aclose()


def test_an_unknown_model_is_a_config_error(tmp_path: Path) -> None:
    pool = ModelPool(make_settings(tmp_path))
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        pool.ready("nope")
    assert pool.config().name == "smollm2"


def test_asking_readiness_imports_neither_httpx_nor_llama_cpp() -> None:
    script = (
        "import sys\n"
        "from chatapp.config import Settings\n"
        "from chatapp.core.backends.pool import ModelPool\n"
        "remote = {'backend': 'ollama', 'base_url': 'http://h:1', 'model': 'm'}\n"
        "pool = ModelPool(Settings.validated({'models': {'remote': remote}}))\n"
        "assert pool.ready('remote') and not pool.ready('smollm2')\n"
        "print(sorted({'httpx', 'llama_cpp'} & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
