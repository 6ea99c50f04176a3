"""Flash attention on and off in llama.cpp on this machine, across context lengths.

At each context length (tokens already in the KV cache) and for each setting, three
figures of the bundled SmolLM2 on every core:

    fill     prefill of a fresh prompt of that length (ms), once per setting
    turn     prefill of one more turn (TURN_TOKENS) on top of it, the KV cache warm (ms):
             what time to first token costs deep into a conversation
    decode   tokens/s of single-token steps after that

Each setting is its own Llama, loaded side by side with the same process settings
(n_ctx, threads, OMP_WAIT_POLICY=PASSIVE as `chatapp` runs); at each length every rep
measures all of them, in an order reversed every other rep, so drifting machine load hits
them alike. Turn and decode figures are medians over reps. The KV cache types go with
them: a quantised V cache needs flash attention, so "fa-off" quantises only K. The last
line printed is one JSON object.

    python bench/flash_attn.py [--reps 3] [--lengths 500,1500,3000,6000] [--kv f16,q8_0]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import _paths  # noqa: F401  (the repository root on sys.path, for chatapp)

# As `chatapp` runs llama.cpp (cli/app.py): threads sleep between calls rather than spin.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from chatapp.core.backends.llama_file import (  # noqa: E402
    GGML_TYPE_F16,
    GGML_TYPE_Q8_0,
    KVCache,
    bundled_model_path,
)

N_CTX = 8192
TURN_TOKENS = 40
DECODE_TOKENS = 32
LENGTHS = (500, 1500, 3000, 6000)
KV_TYPES = {"f16": GGML_TYPE_F16, "q8_0": GGML_TYPE_Q8_0}
# Chat-like filler; the content does not change the cost of attention, only its length.
FILLER = (
    "The keeper climbed the stairs of the lighthouse every evening, trimmed the wick and "
    "wrote the weather in his book: wind from the west, a grey sea, two ships to the "
    "north. Tell me more about the storm that followed, and what he found on the shore. "
)


@dataclass(frozen=True, slots=True)
class Setting:
    flash_attn: bool
    kv: str

    @property
    def name(self) -> str:
        return f"fa-{'on' if self.flash_attn else 'off'} {self.kv}"

    def llama_kwargs(self) -> dict[str, Any]:
        kv_type = KV_TYPES[self.kv]
        # llama.cpp refuses a quantised V cache without flash attention.
        type_v = kv_type if self.flash_attn else GGML_TYPE_F16
        return KVCache(kv_type, type_v, self.flash_attn).llama_settings()


@dataclass(frozen=True, slots=True)
class Sample:
    turn_ms: float
    decode_tps: float


def load(setting: Setting) -> Any:
    import llama_cpp

    threads = os.cpu_count() or 1
    return llama_cpp.Llama(
        model_path=str(bundled_model_path()), n_ctx=N_CTX, n_threads=threads,
        n_threads_batch=threads, verbose=False, **setting.llama_kwargs(),
    )  # fmt: skip


def filler_tokens(llama: Any, count: int) -> list[int]:
    once = llama.tokenize(FILLER.encode("utf-8"), add_bos=False)
    tokens: list[int] = []
    while len(tokens) < count:
        tokens.extend(once)
    return tokens[:count]


def fill(llama: Any, length: int) -> float:
    """Prefill a fresh prompt of length tokens; its milliseconds."""
    prompt = filler_tokens(llama, length)
    llama.reset()
    started = time.perf_counter()
    llama.eval(prompt)
    return (time.perf_counter() - started) * 1000


def turn(llama: Any, length: int) -> Sample:
    """One more turn on the filled cache, then decode steps; rolled back to length after,
    so every rep starts from the same cache (eval drops what lies past n_tokens)."""
    tokens = filler_tokens(llama, TURN_TOKENS)
    llama.n_tokens = length
    started = time.perf_counter()
    llama.eval(tokens)
    turned = time.perf_counter()
    # Decode cost does not depend on which token is fed, so feed one without sampling.
    for token in tokens[:DECODE_TOKENS]:
        llama.eval([token])
    decoded = time.perf_counter()
    return Sample((turned - started) * 1000, DECODE_TOKENS / (decoded - turned))


def orders(settings: list[Setting], reps: int) -> Iterator[list[Setting]]:
    for rep in range(reps):
        yield settings if rep % 2 == 0 else list(reversed(settings))


def run(lengths: list[int], kv_types: list[str], reps: int) -> dict[str, object]:
    settings = [Setting(flash, kv) for kv in kv_types for flash in (True, False)]
    llamas = {setting: load(setting) for setting in settings}
    for llama in llamas.values():  # warm-up: page the weights in
        fill(llama, 200)
    print(f"SmolLM2-135M, n_ctx {N_CTX}, {len(settings)} settings, medians of {reps} reps")
    print(f"{'tokens':>7} {'setting':12} {'fill ms':>9} {'turn ms':>8} {'decode tok/s':>13}")
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for index, length in enumerate(lengths):
        # A fresh fill of thousands of tokens takes seconds, which evens out the noise a
        # short run needs reps for: one fill per setting and length, in alternating order.
        order = settings if index % 2 == 0 else list(reversed(settings))
        fills = {setting: fill(llamas[setting], length) for setting in order}
        samples: dict[Setting, list[Sample]] = {setting: [] for setting in settings}
        for rep_order in orders(settings, reps):
            for setting in rep_order:
                samples[setting].append(turn(llamas[setting], length))
        for setting, runs in samples.items():
            row = medians(length, setting, fills[setting], runs)
            figures.setdefault(setting.name, {})[str(length)] = row
    for llama in llamas.values():
        llama.close()
    return {
        "bench": "flash_attn",
        "n_ctx": N_CTX,
        "threads": os.cpu_count() or 1,
        "reps": reps,
        "load_average": round(os.getloadavg()[0], 2),
        "figures": figures,
        "ok": True,
    }


def medians(length: int, setting: Setting, fill_ms: float, runs: list[Sample]) -> dict[str, float]:
    """One row of the table, printed as soon as it is measured."""
    turn_ms = statistics.median(run.turn_ms for run in runs)
    decode = statistics.median(run.decode_tps for run in runs)
    print(f"{length:7} {setting.name:12} {fill_ms:9.1f} {turn_ms:8.1f} {decode:13.1f}", flush=True)
    return {
        "fill_ms": round(fill_ms, 1),
        "turn_ms": round(turn_ms, 1),
        "decode_tps": round(decode, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "--lengths",
        type=lambda text: [int(part) for part in text.split(",")],
        default=list(LENGTHS),
    )
    parser.add_argument("--kv", default="f16,q8_0", help="KV cache types, comma-separated")
    args = parser.parse_args()
    print(json.dumps(run(args.lengths, args.kv.split(","), args.reps)))


if __name__ == "__main__":
    main()
