"""Start-up: `chatapp` reaches its full first screen in <= 1.5x the time a bare Textual app
takes to show one Static.

Both run in a private tmux server (bench/ui_common.py's Tmux), in fresh 120x40 sessions,
taken in turns (chatapp, bare, chatapp, ...) so both see the same load on the shared
cores. Each is timed from asking tmux for the session to the first `capture-pane` (polled
every 10 ms) that shows its complete first frame:

- chatapp: the installed console script with no arguments (the TUI, embedded model), as a
  new user would start it: an empty data folder and no config file of its own
  (ui_common.app_env). Complete means the sidebar (its search box and "No conversations
  yet"), the message box's placeholder, and the status bar naming the model;
- bare: a Textual app whose only widget is a Static, run by the same Python; complete
  means the Static's text.

Prints both medians and their ratio (chatapp / bare), which the target is for, and for
a loaded machine the median of the ratios of launches made side by side; the last line
is one JSON object with the figures, the target and "ok".

    python bench/startup.py [--reps 5]
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ui_common import (
    PLACEHOLDER,
    Tmux,
    app_env,
    arguments,
    chatapp_command,
    ms,
    paired_ratio,
    tmux_server,
)

from chatapp.config import EMBEDDED_MODEL

TARGET_RATIO = 1.5
POLL_S = 0.01
TIMEOUT_S = 30.0

BARE_TEXT = "A bare Textual app"
BARE_APP = f"""
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static({BARE_TEXT!r})
Bare().run()
"""

# The status bar's line: the model's name first, e.g. " smollm2 · bench · ctx 0/8,192 · …".
STATUS_LINE = re.compile(rf"^ {re.escape(EMBEDDED_MODEL)} · ", re.MULTILINE)


def chatapp_complete(text: str) -> bool:
    """chatapp's first screen, all of it: sidebar, message box, status bar."""
    sidebar = "Search conversations" in text and "No conversations yet" in text
    return sidebar and PLACEHOLDER in text and STATUS_LINE.search(text) is not None


def bare_complete(text: str) -> bool:
    return BARE_TEXT in text


def time_to_frame(
    tmux: Tmux, command: list[str], env: dict[str, str], complete: Callable[[str], bool]
) -> float:
    """Seconds from launching command in a new session to a screen that is complete."""
    started = time.perf_counter()
    name = tmux.start(command, env)
    try:
        tmux.wait_for(name, complete, TIMEOUT_S, POLL_S)
        return time.perf_counter() - started
    finally:
        tmux.kill(name)


def measure(work: Path, reps: int) -> tuple[list[float], list[float]]:
    """reps launches of each, in turns; a fresh user (data folder, config path) each time."""
    chatapp = [chatapp_command()]
    bare = [sys.executable, "-c", BARE_APP]
    ours: list[float] = []
    theirs: list[float] = []
    with tmux_server() as tmux:
        for i in range(reps):
            ours.append(time_to_frame(tmux, chatapp, app_env(work, f"user-{i}"), chatapp_complete))
            theirs.append(time_to_frame(tmux, bare, {}, bare_complete))
    return ours, theirs


def main() -> None:
    args = arguments(__doc__, reps=5).parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="chatapp-bench-startup-") as folder:
        ours, theirs = measure(Path(folder), args.reps)
    chatapp_s, bare_s = statistics.median(ours), statistics.median(theirs)
    ratio = chatapp_s / bare_s
    paired = paired_ratio(ours, theirs)
    load = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(f"chatapp → full first screen: median {ms(chatapp_s)} ms {[ms(s) for s in ours]}")
    print(f"bare Textual app → its Static: median {ms(bare_s)} ms {[ms(s) for s in theirs]}")
    print(f"ratio {ratio:.2f} (target <= {TARGET_RATIO}); side by side {paired:.2f}")
    # Other work on the 2 shared cores moves both figures; the ratio moves less.
    print(f"load average before/after: {load[0]} / {load[1]}")
    result = {
        "bench": "startup",
        "chatapp_ms": ms(chatapp_s),
        "bare_textual_ms": ms(bare_s),
        "ratio": round(ratio, 3),
        "paired_ratio": round(paired, 3),
        "reps": args.reps,
        "load_average": load,
        "target": TARGET_RATIO,
        "ok": ratio <= TARGET_RATIO,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
