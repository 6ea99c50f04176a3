"""g. memory: RSS of `chatapp` after its first reply, from llama_cpp.server (<= 100 MiB)
and from the embedded SmolLM2 (<= 250 MiB).

`chatapp` runs in tmux, once per model: RSS (VmRSS of /proc/PID/status, the same reading
each time) when the prompt is first painted and once the first reply is done and the app
is idle again. The embedded run uses chatapp's defaults (no config file), as a new user
starts. Baseline: a bare Textual app showing one Markdown widget.

    python bench/ui_memory.py [--max-tokens 128]
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from ui_common import (
    PLACEHOLDER,
    REMOTE_QUESTION,
    STATUS_RATE,
    Figure,
    Server,
    Tmux,
    app_env,
    arguments,
    bare_reply,
    chatapp_command,
    chatapp_reply,
    document,
    llama_server,
    rss_mib,
    run_bench,
    server_config,
    tmux_server,
)

TARGET_RSS_MIB = 100.0
TARGET_LOCAL_RSS_MIB = 250.0
LOCAL_QUESTION = "What is the capital of France?"

BARE_MARKDOWN_APP = """
from textual.app import App
from textual.widgets import Footer, Markdown
class Bare(App):
    def compose(self):
        yield Markdown(open({path!r}).read())
        yield Footer()
Bare().run()
"""


def chatapp_rss(tmux: Tmux, work: Path, max_tokens: int) -> tuple[float, float]:
    """RSS at first paint and after the first reply, the default model llama_cpp.server."""
    with llama_server(work) as server:
        config = server_config(work, server.base_url, max_tokens)
        asyncio.run(bare_reply(server.base_url, max_tokens))  # warm-up: page the model in
        name = tmux.start([chatapp_command()], app_env(work, "remote", config))
        try:
            tmux.wait_for(name, lambda text: PLACEHOLDER in text, 30, 0.05)
            painted = rss_mib(tmux.pid(name))
            chatapp_reply(tmux, name, server, REMOTE_QUESTION)
            return painted, rss_mib(tmux.pid(name))
        finally:
            tmux.kill(name)


def chatapp_local_rss(tmux: Tmux, work: Path) -> tuple[float, float]:
    """RSS at first paint and after the first reply, the default model the embedded one."""
    name = tmux.start([chatapp_command()], app_env(work, "local"))
    try:
        tmux.wait_for(name, lambda text: PLACEHOLDER in text, 30, 0.05)
        pid = tmux.pid(name)
        painted = rss_mib(pid)
        tmux.keys(name, LOCAL_QUESTION, literal=True)
        tmux.keys(name, "Enter")
        tmux.wait_for(name, lambda text: STATUS_RATE.search(text) is not None, 120, 0.25)
        # The title the embedded model writes after a first reply runs in the same
        # process: wait until it is idle, as after the remote reply.
        Server("", pid).wait_until_idle(quiet=1.0)
        return painted, rss_mib(pid)
    finally:
        tmux.kill(name)


def bare_markdown_rss(tmux: Tmux, work: Path) -> float:
    text = work / "reply.md"
    text.write_text(document()[:2000])
    name = tmux.start([sys.executable, "-c", BARE_MARKDOWN_APP.format(path=str(text))], {})
    try:
        tmux.wait_for(name, lambda screen: "Part 1" in screen, 30, 0.05)
        time.sleep(0.5)
        return rss_mib(tmux.pid(name))
    finally:
        tmux.kill(name)


def figure_memory(tmux: Tmux, work: Path, max_tokens: int) -> list[Figure]:
    painted, rss = chatapp_rss(tmux, work, max_tokens)
    local_painted, local_rss = chatapp_local_rss(tmux, work)
    baseline_rss = bare_markdown_rss(tmux, work)
    return [
        Figure(
            "rss_mib",
            "g. chatapp RSS after its first remote reply",
            round(rss, 1),
            TARGET_RSS_MIB,
            higher_is_better=False,
            unit=" MiB",
            baseline={
                "bare_markdown_app_rss_mib": round(baseline_rss, 1),
                "first_paint_remote_rss_mib": round(painted, 1),
            },
            detail=f"at first paint {painted:.1f} MiB; a bare Textual app showing one "
            f"Markdown widget: {baseline_rss:.1f} MiB",
        ),
        Figure(
            "local_rss_mib",
            "g. chatapp RSS after its first embedded-model reply",
            round(local_rss, 1),
            TARGET_LOCAL_RSS_MIB,
            higher_is_better=False,
            unit=" MiB",
            baseline={"first_paint_local_rss_mib": round(local_painted, 1)},
            detail=f"at first paint {local_painted:.1f} MiB",
        ),
    ]


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()

    def measure(work: Path) -> list[Figure]:
        with tmux_server() as tmux:
            return figure_memory(tmux, work, args.max_tokens)

    run_bench("ui_memory", measure)


if __name__ == "__main__":
    main()
