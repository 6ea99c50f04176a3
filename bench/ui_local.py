"""b. local: SmolLM2 tokens/s while ChatApp streams ÷ LlamaBackend.stream alone (>= 0.9).

SmolLM2's decode speed while ChatApp streams the reply ÷ the same generation with
LlamaBackend.stream in a plain loop.

ChatApp runs headless in this process (Pilot). Runs of the app and of the bare loop
alternate, and the ratio is the median of side-by-side pairs.

    python bench/ui_local.py [--reps 4] [--max-tokens 256]
"""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path
from typing import Any

from ui_common import (
    SIZE,
    Figure,
    arguments,
    local_model,
    new_app,
    paired_ratio,
    run_bench,
    send,
    set_prompt,
    settings_for,
    settle,
    wait_for_reply,
    wait_until_model_ready,
)

TARGET_LOCAL_TPS_RATIO = 0.9
LOCAL_QUESTION = (
    "Write a long, detailed story about a lighthouse keeper who finds a message in a "
    "bottle. Describe the sea, the weather and every day of the week."
)


async def local_ui_run(data_dir: Path, max_tokens: int) -> tuple[float, int]:
    app = new_app(settings_for(data_dir, smollm2=local_model(max_tokens)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until_model_ready(app, pilot)
        set_prompt(app, LOCAL_QUESTION)
        await send(pilot)
        reply = await wait_for_reply(app, pilot)
        await settle(app, pilot)
    return reply.tokens_per_second, reply.completion_tokens


async def local_bare_run(backend: Any, max_tokens: int) -> tuple[float, int]:
    from chatapp.config import ModelConfig
    from chatapp.core.session import default_params

    model = ModelConfig(**local_model(max_tokens))
    messages = [
        {"role": "system", "content": model.system_prompt},
        {"role": "user", "content": LOCAL_QUESTION},
    ]
    usage = None
    async for chunk in backend.stream(messages, default_params(model)):
        usage = chunk.usage or usage
    assert usage is not None
    return usage.tokens_per_second, usage.completion_tokens


async def figure_local(work: Path, reps: int, max_tokens: int) -> Figure:
    from chatapp.config import ModelConfig
    from chatapp.core.backends.llama_local import LlamaBackend

    backend = LlamaBackend(ModelConfig(name="smollm2", **local_model(max_tokens)))
    await asyncio.to_thread(backend.load)
    ui: list[tuple[float, int]] = []
    bare: list[tuple[float, int]] = []
    try:
        await local_bare_run(backend, max_tokens)  # warm-up
        for rep in range(reps):
            data_dir = work / f"local-{rep}"
            if rep % 2:
                bare.append(await local_bare_run(backend, max_tokens))
                ui.append(await local_ui_run(data_dir, max_tokens))
            else:
                ui.append(await local_ui_run(data_dir, max_tokens))
                bare.append(await local_bare_run(backend, max_tokens))
    finally:
        await backend.aclose()
    ui_tps = statistics.median(tps for tps, _ in ui)
    bare_tps = statistics.median(tps for tps, _ in bare)
    return Figure(
        "local_tps_ratio",
        "b. local tokens/s: while the chat screen streams ÷ LlamaBackend.stream alone",
        round(paired_ratio([t for t, _ in ui], [t for t, _ in bare]), 3),
        TARGET_LOCAL_TPS_RATIO,
        higher_is_better=True,
        baseline={"local_ui_tps": round(ui_tps, 1), "local_bare_tps": round(bare_tps, 1)},
        detail=f"UI {[round(t, 1) for t, _ in ui]} tok/s, bare {[round(t, 1) for t, _ in bare]}"
        f" tok/s; tokens {sorted({n for _, n in ui + bare})}",
    )


def main() -> None:
    parser = arguments(__doc__, reps=4)
    parser.add_argument("--max-tokens", type=int, default=256)
    args = parser.parse_args()
    run_bench(
        "ui_local", lambda work: [asyncio.run(figure_local(work, args.reps, args.max_tokens))]
    )


if __name__ == "__main__":
    main()
