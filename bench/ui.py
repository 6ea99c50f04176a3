"""The chat UI's performance figures, each against a baseline measured in the same run.

Each figure is a script of its own, run here one after another in a fresh process:

  a. stream   bench/ui_stream.py   5,000 chunks through the chat screen
                                   ÷ a bare MarkdownStream                      <= 1.3
  b. local    bench/ui_local.py    SmolLM2 tokens/s while ChatApp streams
                                   ÷ LlamaBackend.stream alone                  >= 0.9
  c. remote   bench/ui_remote.py   llama_cpp.server tokens/s while `chatapp` draws
                                   ÷ a bare httpx client                        >= 0.9
  d. enter    bench/ui_enter.py    Enter → request (remote), Enter → generating
                                   (local; also in a 200-message conversation),
                                   medians                                      <= 20 ms
  e. echo     bench/ui_echo.py     key → echo while a long reply streams, p95   <= 50 ms
  f. launch   bench/ui_launch.py   `chatapp` in tmux → prompt painted, median   <= 0.6 s
  g. memory   bench/ui_memory.py   `chatapp` RSS after its first remote reply  <= 100 MiB
                                   after its first embedded reply              <= 250 MiB
                                   (and at first paint, for both)

Each script prints its figures and, last, one JSON object with them, their baselines,
targets and "ok"; this runner passes their output on and prints, last, one JSON object
with every figure.

    python bench/ui.py [--only a,e | --only stream,echo] [--reps N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
# In the order they run: the tmux ones first, then the in-process ones, latencies first.
FIGURES = {
    "f": "launch",
    "c": "remote",
    "g": "memory",
    "d": "enter",
    "e": "echo",
    "a": "stream",
    "b": "local",
}
# The figures whose --reps this runner's --reps sets (the others keep their own).
TAKES_REPS = ("stream", "local", "remote")
SUMMARY_KEYS = ("bench", "load_average", "baseline", "target", "ok")


def chosen(only: str) -> list[str]:
    """The figures named in --only (letters or names), in running order."""
    asked = {part.strip() for part in only.split(",") if part.strip()}
    if len(asked) == 1 and next(iter(asked)) not in FIGURES.values():
        asked = set(next(iter(asked)))  # "abc": letters run together
    names = {FIGURES.get(part, part) for part in asked}
    unknown = names - set(FIGURES.values())
    if unknown:
        raise SystemExit(f"unknown figures: {', '.join(sorted(unknown))}")
    return [name for name in FIGURES.values() if name in names]


def run_script(name: str, reps: int | None) -> dict[str, Any]:
    """Run bench/ui_<name>.py, passing its output on; its last line, parsed."""
    command = [sys.executable, str(BENCH / f"ui_{name}.py")]
    if reps is not None and name in TAKES_REPS:
        command += ["--reps", str(reps)]
    print(f"== {name}", flush=True)
    last = ""
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        for line in child.stdout:
            print(line, end="", flush=True)
            last = line.strip() or last
    try:
        result: dict[str, Any] = json.loads(last)
    except ValueError:
        return {"bench": f"ui_{name}", "ok": False, "error": f"exit status {child.returncode}"}
    return result


def summary(results: list[dict[str, Any]], load_before: float) -> dict[str, Any]:
    load = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    overall: dict[str, Any] = {"bench": "ui", "load_average": load}
    for result in results:
        overall |= {k: v for k, v in result.items() if k not in SUMMARY_KEYS}
    overall.pop("error", None)
    overall["baseline"] = {k: v for r in results for k, v in r.get("baseline", {}).items()}
    overall["target"] = {k: v for r in results for k, v in r.get("target", {}).items()}
    overall["failed"] = [r["bench"] for r in results if "error" in r]
    overall["ok"] = all(result.get("ok") for result in results)
    return overall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="abcdefg", help="which figures, e.g. 'a,e' or 'echo'")
    parser.add_argument("--reps", type=int, help="runs of stream, local and remote")
    args = parser.parse_args()
    names = chosen(args.only)
    load_before = os.getloadavg()[0]
    results = [run_script(name, args.reps) for name in names]
    print(json.dumps(summary(results, load_before)))


if __name__ == "__main__":
    main()
