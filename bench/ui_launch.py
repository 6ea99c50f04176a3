"""f. launch: `chatapp` in a fresh tmux session → its prompt painted, median (<= 0.6 s).

Baselines: a bare Textual app (TextArea + Footer) in tmux, and `python -c "import textual"`.

    python bench/ui_launch.py [--reps 5]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from ui_common import (
    PLACEHOLDER,
    Figure,
    Tmux,
    app_env,
    arguments,
    chatapp_command,
    run_bench,
    tmux_server,
)

TARGET_LAUNCH_S = 0.6

BARE_APP = """
from textual.app import App
from textual.widgets import Footer, TextArea
class Bare(App):
    def compose(self):
        yield TextArea(placeholder={placeholder!r})
        yield Footer()
Bare().run()
"""


def time_to_paint(tmux: Tmux, command: list[str], env: dict[str, str], marker: str) -> float:
    started = time.perf_counter()
    name = tmux.start(command, env)
    try:
        tmux.wait_for(name, lambda text: marker in text and "^p" in text, 30, 0.01)
        return time.perf_counter() - started
    finally:
        tmux.kill(name)


def figure_launch(tmux: Tmux, work: Path, runs: int) -> Figure:
    chatapp = chatapp_command()
    launches = [
        time_to_paint(tmux, [chatapp], app_env(work, f"launch-{i}"), PLACEHOLDER)
        for i in range(runs)
    ]
    bare_app = BARE_APP.format(placeholder=PLACEHOLDER)
    bare = [
        time_to_paint(tmux, [sys.executable, "-c", bare_app], {}, PLACEHOLDER) for _ in range(runs)
    ]
    imports = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import textual"], check=True)
        imports.append(time.perf_counter() - started)
    median = statistics.median(launches)
    return Figure(
        "launch_s",
        "f. launch → first painted screen in tmux, median",
        round(median, 3),
        TARGET_LAUNCH_S,
        higher_is_better=False,
        unit=" s",
        baseline={
            "import_textual_s": round(statistics.median(imports), 3),
            "bare_textual_app_s": round(statistics.median(bare), 3),
        },
        detail=f"chatapp {[round(s, 3) for s in launches]} s; a bare Textual app (TextArea + "
        f'Footer) {round(statistics.median(bare), 3)} s; `python -c "import textual"` '
        f"{round(statistics.median(imports), 3)} s",
    )


def main() -> None:
    args = arguments(__doc__, reps=5).parse_args()

    def measure(work: Path) -> list[Figure]:
        with tmux_server() as tmux:
            return [figure_launch(tmux, work, args.reps)]

    run_bench("ui_launch", measure)


if __name__ == "__main__":
    main()
