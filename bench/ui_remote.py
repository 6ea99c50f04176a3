"""c. remote: llama_cpp.server tokens/s while `chatapp` draws ÷ bare httpx (>= 0.9).

llama_cpp.server's decode speed while `chatapp` (in tmux) draws the reply ÷ a bare httpx
client reading the same stream.

llama_cpp.server runs with passive OpenMP threads (as chatapp runs llama.cpp itself) on
127.0.0.1. chatapp's first reply warms it up and is left out; then runs of chatapp and of
the bare client alternate, and the ratio is the median of side-by-side pairs.

    python bench/ui_remote.py [--reps 4] [--max-tokens 128]
"""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path

from ui_common import (
    PLACEHOLDER,
    REMOTE_QUESTION,
    Figure,
    Tmux,
    app_env,
    arguments,
    bare_reply,
    chatapp_command,
    chatapp_reply,
    llama_server,
    new_chat,
    paired_ratio,
    run_bench,
    server_config,
    tmux_server,
)

TARGET_REMOTE_TPS_RATIO = 0.9


def figure_remote(tmux: Tmux, work: Path, reps: int, max_tokens: int) -> Figure:
    with llama_server(work) as server:
        config = server_config(work, server.base_url, max_tokens)
        asyncio.run(bare_reply(server.base_url, max_tokens))  # warm-up: page the model in
        name = tmux.start([chatapp_command()], app_env(work, "remote", config))
        try:
            tmux.wait_for(name, lambda text: PLACEHOLDER in text, 30, 0.05)
            chatapp_reply(tmux, name, server, REMOTE_QUESTION)  # warm-up
            ui: list[float] = []
            bare: list[float] = []
            for rep in range(reps):
                new_chat(tmux, name)
                if rep % 2:
                    bare.append(asyncio.run(bare_reply(server.base_url, max_tokens)))
                    ui.append(chatapp_reply(tmux, name, server, REMOTE_QUESTION))
                else:
                    ui.append(chatapp_reply(tmux, name, server, REMOTE_QUESTION))
                    bare.append(asyncio.run(bare_reply(server.base_url, max_tokens)))
        finally:
            tmux.kill(name)
    ui_tps, bare_tps = statistics.median(ui), statistics.median(bare)
    return Figure(
        "remote_tps_ratio",
        "c. llama_cpp.server tokens/s: while chatapp draws ÷ bare httpx client",
        round(paired_ratio(ui, bare), 3),
        TARGET_REMOTE_TPS_RATIO,
        higher_is_better=True,
        baseline={"remote_ui_tps": round(ui_tps, 1), "remote_bare_tps": round(bare_tps, 1)},
        detail=f"chatapp {ui} tok/s (status bar), bare {[round(t, 1) for t in bare]}",
    )


def main() -> None:
    parser = arguments(__doc__, reps=4)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()

    def measure(work: Path) -> list[Figure]:
        with tmux_server() as tmux:
            return [figure_remote(tmux, work, args.reps, args.max_tokens)]

    run_bench("ui_remote", measure)


if __name__ == "__main__":
    main()
