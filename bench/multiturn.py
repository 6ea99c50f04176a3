"""Time to first token at turn 20 of a conversation ÷ at turn 2 (local backend).

A byte-stable prompt prefix lets llama.cpp reuse its KV cache, so a long conversation
starts answering about as fast as a short one. Target: ratio <= 1.5. The same conversation
through raw llama-cpp-python (its own Llama, with the app's window, threads and KV cache
settings) is measured in the same run as the baseline: what it shows is llama.cpp's own
cost of a longer context. --kv before runs the KV cache chatapp used before issue 14.

    python bench/multiturn.py [--kv chatapp|before|q8_0-fa]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Two Llama objects on two threads: spinning OpenMP teams would slow each other down.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from kv_caches import KV_CACHES  # noqa: E402

from chatapp.config import embedded_model  # noqa: E402
from chatapp.core.backends.base import GenerationParams  # noqa: E402
from chatapp.core.backends.llama_file import KVCache, LlamaFile  # noqa: E402
from chatapp.core.backends.llama_local import LlamaBackend  # noqa: E402
from chatapp.core.session import ChatSession  # noqa: E402

TURNS = 20
ROUNDS = 5
TARGET = 1.5
# What chatapp may add on top of llama.cpp's own ratio.
APP_OVER_RAW_TARGET = 1.05
PARAMS = GenerationParams(max_tokens=48, temperature=0.0, seed=42)
QUESTIONS = [
    "Tell me one fact about the ocean.",
    "And one about mountains?",
    "What do bees make?",
    "Name a planet and describe it.",
    "What is a good breakfast?",
]


async def first_token_time(session: ChatSession, question: str) -> float:
    started = time.perf_counter()
    reply = session.send(question, PARAMS)
    first = None
    async for _ in reply:
        first = first or time.perf_counter()
    assert first is not None, "the model produced no text"
    return first - started


async def one_conversation(backend: LlamaBackend) -> dict[int, float]:
    session = ChatSession.new(None, backend, backend.config, user="bench")
    times = {}
    for turn in range(1, TURNS + 1):
        times[turn] = await first_token_time(session, QUESTIONS[turn % len(QUESTIONS)])
    return times


def raw_conversation(llama: object, system: str) -> dict[int, float]:
    """The same turns through llama_cpp.Llama.create_chat_completion directly."""
    messages = [{"role": "system", "content": system}]
    times = {}
    for turn in range(1, TURNS + 1):
        messages.append({"role": "user", "content": QUESTIONS[turn % len(QUESTIONS)]})
        started, first, parts = time.perf_counter(), None, []
        for chunk in llama.create_chat_completion(  # type: ignore[attr-defined]
            messages=messages, stream=True, max_tokens=PARAMS.max_tokens, temperature=0.0,
            seed=PARAMS.seed,
        ):  # fmt: skip
            text = chunk["choices"][0]["delta"].get("content")
            if text:
                first = first or time.perf_counter()
                parts.append(text)
        times[turn] = (first or time.perf_counter()) - started
        messages.append({"role": "assistant", "content": "".join(parts)})
    return times


async def main(cache: KVCache) -> dict[str, object]:
    import llama_cpp

    config = embedded_model()
    backend = LlamaBackend(config, LlamaFile.for_models([config], cache))
    await one_conversation(backend)  # warm-up: page the model in, grow the window if needed
    # The app's Llama as it runs the conversation: its window (not necessarily n_ctx),
    # threads and KV cache settings.
    raw = llama_cpp.Llama(
        model_path=str(backend.model_path), n_ctx=backend.llama.n_ctx(),
        n_threads=backend.n_threads, n_threads_batch=backend.n_threads, verbose=False,
        **cache.llama_settings(),
    )  # fmt: skip
    system = config.system_prompt or ""
    raw_conversation(raw, system)
    turn2, turn20, raw2, raw20 = [], [], [], []
    for rounds in range(ROUNDS):
        # Which goes first swaps every round, so drifting machine load hits both alike.
        if rounds % 2:
            raw_times = raw_conversation(raw, system)
            times = await one_conversation(backend)
        else:
            times = await one_conversation(backend)
            raw_times = raw_conversation(raw, system)
        turn2.append(times[2])
        turn20.append(times[TURNS])
        raw2.append(raw_times[2])
        raw20.append(raw_times[TURNS])
    session = ChatSession.new(None, backend, backend.config, user="bench")
    for turn in range(TURNS):
        await session.send(QUESTIONS[turn % len(QUESTIONS)], PARAMS).wait()
    tokens20 = session.turn.prompt.prompt_tokens if session.turn else 0
    ttft2, ttft20 = statistics.median(turn2), statistics.median(turn20)
    ratio = ttft20 / ttft2
    raw_ratio = statistics.median(raw20) / statistics.median(raw2)
    print(f"prompt at turn {TURNS}: {tokens20} tokens")
    print(f"TTFT turn 2:  median {ttft2 * 1000:.1f} ms  {[round(t * 1000, 1) for t in turn2]}")
    print(
        f"TTFT turn {TURNS}: median {ttft20 * 1000:.1f} ms  {[round(t * 1000, 1) for t in turn20]}"
    )
    print(f"ratio turn {TURNS} / turn 2: {ratio:.2f} (target <= {TARGET})")
    print(
        f"raw llama-cpp-python, same turns: turn 2 {statistics.median(raw2) * 1000:.1f} ms, "
        f"turn {TURNS} {statistics.median(raw20) * 1000:.1f} ms, ratio {raw_ratio:.2f}"
    )
    print(f"app ratio / raw ratio: {ratio / raw_ratio:.2f}")
    print(f"window: {backend.llama.n_ctx()} tokens; {cache}")
    return {
        "bench": "multiturn",
        "window": backend.llama.n_ctx(),
        "ttft_ms_turn2": round(ttft2 * 1000, 1),
        "ttft_ms_turn20": round(ttft20 * 1000, 1),
        "prompt_tokens_turn20": tokens20,
        "ratio": round(ratio, 3),
        "raw_ratio": round(raw_ratio, 3),
        "app_over_raw": round(ratio / raw_ratio, 3),
        "target": TARGET,
        "app_over_raw_target": APP_OVER_RAW_TARGET,
        "ok": ratio <= TARGET and ratio / raw_ratio <= APP_OVER_RAW_TARGET,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kv", choices=list(KV_CACHES), default="chatapp")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(KV_CACHES[args.kv]))))
