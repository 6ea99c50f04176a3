"""g. memory: RSS of `chatapp` after its first reply from llama_cpp.server (<= 100 MiB).

`chatapp` runs in tmux. Baseline: a bare Textual app showing one Markdown widget.

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
    Figure,
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

BARE_MARKDOWN_APP = """
from textual.app import App
from textual.widgets import Footer, Markdown
class Bare(App):
    def compose(self):
        yield Markdown(open({path!r}).read())
        yield Footer()
Bare().run()
"""


def chatapp_rss(tmux: Tmux, work: Path, max_tokens: int) -> float:
    with llama_server(work) as server:
        config = server_config(work, server.base_url, max_tokens)
        asyncio.run(bare_reply(server.base_url, max_tokens))  # warm-up: page the model in
        name = tmux.start([chatapp_command()], app_env(work, "remote", config))
        try:
            tmux.wait_for(name, lambda text: PLACEHOLDER in text, 30, 0.05)
            chatapp_reply(tmux, name, server, REMOTE_QUESTION)
            return rss_mib(tmux.pid(name))
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


def figure_memory(tmux: Tmux, work: Path, max_tokens: int) -> Figure:
    rss = chatapp_rss(tmux, work, max_tokens)
    baseline_rss = bare_markdown_rss(tmux, work)
    return Figure(
        "rss_mib",
        "g. chatapp RSS after its first remote reply",
        round(rss, 1),
        TARGET_RSS_MIB,
        higher_is_better=False,
        unit=" MiB",
        baseline={"bare_markdown_app_rss_mib": round(baseline_rss, 1)},
        detail=f"a bare Textual app showing one Markdown widget: {baseline_rss:.1f} MiB",
    )


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()

    def measure(work: Path) -> list[Figure]:
        with tmux_server() as tmux:
            return [figure_memory(tmux, work, args.max_tokens)]

    run_bench("ui_memory", measure)


if __name__ == "__main__":
    main()
