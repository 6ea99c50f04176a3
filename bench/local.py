"""Tokens/s of the embedded model through ChatSession, against raw llama-cpp-python.

Both paths use one loaded Llama (same GGUF, threads, window and KV cache settings: flash
attention, type_k, type_v), the same messages and greedy decoding, so they produce the
same reply; runs alternate (app, raw, raw, app, ...) so drifting machine load hits both
alike, and the ratio of medians is what the app costs on top of llama.cpp. A third path,
LlamaBackend.stream alone, shows where any loss comes from. The last line printed is one
JSON object.

--kv before runs the KV cache chatapp used before issue 14 (f16, the whole window at load).

    python bench/local.py [--reps 5] [--max-tokens 200] [--kv chatapp|before|q8_0-fa]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from kv_caches import KV_CACHES

from chatapp.config import embedded_model
from chatapp.core.backends.base import ChatMessage, GenerationParams
from chatapp.core.backends.llama_file import KVCache, LlamaFile
from chatapp.core.backends.llama_local import LlamaBackend
from chatapp.core.session import ChatSession
from chatapp.store.conversations import ConversationRepo
from chatapp.store.users import UserDir

TARGET = 0.95
SYSTEM = "You are a helpful assistant."
# Asks for more than max_tokens, so every run is cut at the same length.
PROMPT = (
    "Write a long, detailed story about a lighthouse keeper who finds a message in a "
    "bottle. Describe the sea, the weather, the lighthouse and every day of the week."
)

# A factory starts one reply to (messages, params) and streams its text pieces.
StreamFactory = Callable[[list[ChatMessage], GenerationParams], AsyncIterator[str]]


@dataclass(frozen=True, slots=True)
class Run:
    text: str
    tokens: int
    seconds: float
    deliveries: int

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds


async def measure(
    factory: StreamFactory,
    messages: list[ChatMessage],
    params: GenerationParams,
    count: Callable[[str], int],
) -> Run:
    """One reply, timed from the request to its last piece, as a user waits for it."""
    deliveries = 0
    parts: list[str] = []
    started = time.perf_counter()
    async for text in factory(messages, params):
        parts.append(text)
        deliveries += 1
    seconds = time.perf_counter() - started
    text = "".join(parts)
    return Run(text, count(text), seconds, deliveries)


def raw_factory(backend: LlamaBackend) -> StreamFactory:
    """llama-cpp-python with nothing around it: the blocking iterator, in this thread."""

    async def stream(messages: list[ChatMessage], params: GenerationParams) -> AsyncIterator[str]:
        pieces = backend.llama.create_chat_completion(
            messages=messages,  # type: ignore[arg-type]
            stream=True,
            max_tokens=params.max_tokens,
            temperature=params.temperature if params.temperature is not None else 0.0,
            seed=params.seed,
        )
        for piece in pieces:  # type: ignore[union-attr]
            text = piece["choices"][0]["delta"].get("content")
            if text:
                yield text

    return stream


def backend_factory(backend: LlamaBackend) -> StreamFactory:
    async def stream(messages: list[ChatMessage], params: GenerationParams) -> AsyncIterator[str]:
        async for chunk in backend.stream(messages, params):
            if chunk.text:
                yield chunk.text

    return stream


def session_factory(backend: LlamaBackend, data_dir: Path) -> StreamFactory:
    """The app's path: a new conversation per run, saved to disk as the app saves it."""
    repo = ConversationRepo(UserDir(data_dir, "bench"))
    model = embedded_model()

    async def stream(messages: list[ChatMessage], params: GenerationParams) -> AsyncIterator[str]:
        system, question = messages[0]["content"], messages[-1]["content"]
        session = ChatSession.new(repo, backend, model, user="bench", system=system)
        async for text in session.send(question, params):
            yield text

    return stream


async def bench(reps: int, max_tokens: int, cache: KVCache) -> dict[str, object]:
    config = embedded_model()
    file = LlamaFile.for_models([config], cache)
    backend = LlamaBackend(config, file)
    backend.load()
    messages: list[ChatMessage] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": PROMPT},
    ]
    params = GenerationParams(max_tokens=max_tokens, temperature=0.0, seed=7)

    def count(text: str) -> int:
        return len(backend.llama.tokenize(text.encode("utf-8"), add_bos=False))

    with tempfile.TemporaryDirectory(prefix="chatapp-bench-") as data_dir:
        paths = {
            "app": session_factory(backend, Path(data_dir)),
            "backend": backend_factory(backend),
            "raw": raw_factory(backend),
        }
        runs: dict[str, list[Run]] = {name: [] for name in paths}
        for factory in paths.values():  # warm-up: page the weights in, fill the KV cache
            await measure(factory, messages, params, count)
        for rep in range(reps):
            # Reverse the order every other rep so neither path always runs first.
            order = list(paths) if rep % 2 == 0 else list(reversed(paths))
            for name in order:
                runs[name].append(await measure(paths[name], messages, params, count))
    print(f"window {backend.llama.n_ctx()} tokens; {cache}")
    await backend.aclose()
    file.unload()
    return report(runs, backend.n_threads)


def report(runs: dict[str, list[Run]], threads: int) -> dict[str, object]:
    medians = {
        name: statistics.median(run.tokens_per_second for run in path_runs)
        for name, path_runs in runs.items()
    }
    print(f"SmolLM2-135M Q4_1, {threads} threads, greedy, {len(runs['raw'])} reps, medians")
    for name, rs in runs.items():
        figures = ", ".join(f"{r.tokens_per_second:.1f}" for r in rs)
        tokens = statistics.median(r.tokens for r in rs)
        deliveries = statistics.median(r.deliveries for r in rs)
        print(
            f"  {name:8} {medians[name]:6.1f} tok/s  ({tokens:.0f} tokens in "
            f"{deliveries:.0f} deliveries; runs: {figures})"
        )
    if len({r.text for rs in runs.values() for r in rs}) > 1:
        print("  warning: the paths produced different text; the comparison is unfair")
    ratio = medians["app"] / medians["raw"]
    print(f"  backend/raw {medians['backend'] / medians['raw']:.3f}   app/raw {ratio:.3f}")
    return {
        "bench": "local",
        "app_tps": round(medians["app"], 2),
        "raw_tps": round(medians["raw"], 2),
        "ratio": round(ratio, 3),
        "target": TARGET,
        "ok": ratio >= TARGET,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--kv", choices=list(KV_CACHES), default="chatapp")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(bench(args.reps, args.max_tokens, KV_CACHES[args.kv]))))


if __name__ == "__main__":
    main()
