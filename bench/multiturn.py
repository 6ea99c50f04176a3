"""Time to first token at turn 20 of a conversation ÷ at turn 2 (local backend).

A byte-stable prompt prefix lets llama.cpp reuse its KV cache, so a long conversation
starts answering as fast as a short one. Target: ratio <= 1.5.

    python bench/multiturn.py
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatapp.config import embedded_model  # noqa: E402
from chatapp.core.backends.base import GenerationParams  # noqa: E402
from chatapp.core.backends.llama_local import LlamaBackend  # noqa: E402
from chatapp.core.session import ChatSession  # noqa: E402

TURNS = 20
ROUNDS = 3
TARGET = 1.5
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


async def main() -> dict[str, object]:
    backend = LlamaBackend(embedded_model())
    backend.load()
    await one_conversation(backend)  # warm-up: page the model in
    turn2, turn20, tokens20 = [], [], 0
    for _ in range(ROUNDS):
        times = await one_conversation(backend)
        turn2.append(times[2])
        turn20.append(times[TURNS])
    session = ChatSession.new(None, backend, backend.config, user="bench")
    for turn in range(TURNS):
        await session.send(QUESTIONS[turn % len(QUESTIONS)], PARAMS).wait()
    tokens20 = session.reply.prompt.prompt_tokens if session.reply else 0
    ttft2, ttft20 = statistics.median(turn2), statistics.median(turn20)
    ratio = ttft20 / ttft2
    print(f"prompt at turn {TURNS}: {tokens20} tokens")
    print(f"TTFT turn 2:  median {ttft2 * 1000:.1f} ms  {[round(t * 1000, 1) for t in turn2]}")
    print(
        f"TTFT turn {TURNS}: median {ttft20 * 1000:.1f} ms  {[round(t * 1000, 1) for t in turn20]}"
    )
    print(f"ratio turn {TURNS} / turn 2: {ratio:.2f} (target <= {TARGET})")
    return {
        "bench": "multiturn",
        "ttft_ms_turn2": round(ttft2 * 1000, 1),
        "ttft_ms_turn20": round(ttft20 * 1000, 1),
        "prompt_tokens_turn20": tokens20,
        "ratio": round(ratio, 3),
        "target": TARGET,
        "ok": ratio <= TARGET,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
