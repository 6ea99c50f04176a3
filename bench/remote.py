"""What OpenAIBackend costs over a bare httpx SSE loop, against the same llama_cpp.server.

Both clients ask the same question (temperature 0, fixed seed, so the same tokens) in
alternating order, several times; the medians are compared. Targets: time to first token
at most 10 ms slower, tokens/s at least 0.97 of the bare loop.

    python bench/remote.py [--reps 10] [--max-tokens 128]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import _paths  # noqa: F401  (the repository root on sys.path)
import httpx

from chatapp.config import ModelConfig
from chatapp.core.backends.base import ChatMessage, GenerationParams
from chatapp.core.backends.openai_http import OpenAIBackend
from tests.fixtures.gguf import bundled_gguf
from tests.fixtures.servers import start_llama_server, stop_process

TARGET_TTFT_OVERHEAD_MS = 10.0
TARGET_TPS_RATIO = 0.97
SEED = 42
MESSAGES: list[ChatMessage] = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Write a short story about a lighthouse keeper and a storm."},
]


@dataclass(frozen=True, slots=True)
class Run:
    ttft: float  # seconds from sending the request to the first text
    tokens: int  # text chunks received
    seconds: float  # from the first text to the last
    cpu: float  # this process's CPU seconds for the whole reply: the client's real cost

    @property
    def tokens_per_second(self) -> float:
        return (self.tokens - 1) / self.seconds if self.seconds > 0 else 0.0


class Clock:
    """Timestamps of the pieces of text one reply arrives in."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.cpu_started = time.process_time()
        self.first: float | None = None
        self.last = self.started
        self.tokens = 0

    def tick(self) -> None:
        self.last = time.perf_counter()
        self.first = self.first or self.last
        self.tokens += 1

    def run(self) -> Run:
        if self.first is None:
            raise RuntimeError("the server sent no text")
        cpu = time.process_time() - self.cpu_started
        return Run(self.first - self.started, self.tokens, self.last - self.first, cpu)


async def through_backend(backend: OpenAIBackend, params: GenerationParams) -> Run:
    clock = Clock()
    async for chunk in backend.stream(MESSAGES, params):
        if chunk.text:
            clock.tick()
    return clock.run()


async def bare_loop(client: httpx.AsyncClient, url: str, params: GenerationParams) -> Run:
    """The least a client can do: POST, read lines, decode each data line."""
    body = {"messages": MESSAGES, "stream": True, **params.to_dict()}
    clock = Clock()
    async with client.stream("POST", url, json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            choices = json.loads(data).get("choices") or [{}]
            if (choices[0].get("delta") or {}).get("content"):
                clock.tick()
    return clock.run()


async def measure(base_url: str, reps: int, params: GenerationParams) -> dict[str, list[Run]]:
    config = ModelConfig(name="bench", backend="openai", base_url=base_url, timeout=120.0)
    backend = OpenAIBackend(config)
    client = httpx.AsyncClient(timeout=httpx.Timeout(120.0, connect=10.0))
    url = f"{base_url}/chat/completions"
    clients: dict[str, Callable[[], Awaitable[Run]]] = {
        "backend": lambda: through_backend(backend, params),
        "bare": lambda: bare_loop(client, url, params),
    }
    runs: dict[str, list[Run]] = {name: [] for name in clients}
    try:
        for name in clients:  # warm-up: page the model in, fill the prompt cache
            await clients[name]()
        for rep in range(reps):
            # Alternate who goes first, so drift (heat, caches) hits both alike.
            order = list(clients) if rep % 2 == 0 else list(reversed(clients))
            for name in order:
                runs[name].append(await clients[name]())
    finally:
        await backend.aclose()
        await client.aclose()
    return runs


def report(runs: dict[str, list[Run]]) -> dict[str, object]:
    for name, rs in runs.items():
        print(
            f"{name:8} TTFT median {statistics.median(r.ttft for r in rs) * 1000:7.1f} ms   "
            f"{statistics.median(r.tokens_per_second for r in rs):6.1f} tok/s   "
            f"client CPU {statistics.median(r.cpu for r in rs) * 1000:6.1f} ms/reply   "
            f"tokens {sorted({r.tokens for r in rs})}\n"
            f"         TTFTs ms {[round(r.ttft * 1000, 1) for r in rs]}\n"
            f"         tok/s    {[round(r.tokens_per_second, 1) for r in rs]}"
        )
    # Compare each backend run with the bare run beside it, then take the median: on a
    # shared 2-core machine the load drifts, and neighbours in time see the same load.
    pairs = list(zip(runs["backend"], runs["bare"], strict=True))
    overhead = statistics.median((ours.ttft - bare.ttft) * 1000 for ours, bare in pairs)
    ratio = statistics.median(
        ours.tokens_per_second / bare.tokens_per_second for ours, bare in pairs
    )
    print(
        f"TTFT overhead {overhead:.2f} ms, median of pairs (target <= {TARGET_TTFT_OVERHEAD_MS:g})"
    )
    print(f"tokens/s ratio {ratio:.3f}, median of pairs (target >= {TARGET_TPS_RATIO:g})")
    return {
        "bench": "remote",
        "ttft_overhead_ms": round(overhead, 2),
        "tps_ratio": round(ratio, 3),
        "target": {"ttft_overhead_ms": TARGET_TTFT_OVERHEAD_MS, "tps_ratio": TARGET_TPS_RATIO},
        "ok": overhead <= TARGET_TTFT_OVERHEAD_MS and ratio >= TARGET_TPS_RATIO,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()
    params = GenerationParams(max_tokens=args.max_tokens, temperature=0.0, seed=SEED)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        threads = os.cpu_count() or 1
        server = start_llama_server(bundled_gguf(), threads, Path(folder) / "server.log")
        try:
            runs = asyncio.run(measure(server.base_url, args.reps, params))
        finally:
            stop_process(server.process)
    # Other work on the machine swings llama.cpp's speed far more than any client does.
    print(f"load average before/after: {load_before:.2f} / {os.getloadavg()[0]:.2f}")
    print(json.dumps(report(runs)))


if __name__ == "__main__":
    main()
