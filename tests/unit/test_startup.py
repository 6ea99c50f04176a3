"""Start-up: `chatapp` with no arguments opens the TUI without what its first screen does
not need, a bad config still stops it in one line, and no config file means defaults
made without validation that validation agrees with."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from chatapp.config import Settings, embedded_model, load_settings, redacted

# Imported when first used, never to open the TUI: the command parser, the later features,
# the backends (a model loads after the first frame), and with no config file to check,
# the validation, and the writers' file locks (the first screen only reads).
NOT_TO_START = (
    "typer",
    "pydantic",
    "filelock",
    "chatapp.cli.app",
    "chatapp.cli.turns",
    "chatapp.core.memory.rules",
    "chatapp.core.memory.extract",
    "chatapp.core.memory.model_extract",
    "chatapp.core.memory.book",
    "chatapp.core.templates",
    "chatapp.core.feedback.log",
    "chatapp.core.session",
    "chatapp.ui.screens.memory",
    "chatapp.ui.screens.rate_reasons",
    "jinja2",
    "httpx",
    "llama_cpp",
)

# `chatapp` with no arguments, up to the TUI's run, which prints what was imported instead.
OPEN_THE_TUI = f"""
import sys
from chatapp.ui.app import ChatApp
ChatApp.run = lambda self: print(" ".join(sorted(set({NOT_TO_START!r}) & set(sys.modules))))
sys.argv = ["chatapp"]
from chatapp.cli import main
main()
"""


def python(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_no_arguments_open_the_tui_without_the_parser_or_later_features(env) -> None:
    result = python(env, "-c", OPEN_THE_TUI)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_a_bad_config_stops_the_tui_in_one_line_with_file_and_line(env) -> None:
    Path(env["CHATAPP_CONFIG"]).write_text('[models.x]\nbackend = "llama"\nn_ctx = -5\n')
    result = python(env, "-m", "chatapp")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert f"{env['CHATAPP_CONFIG']}:3:" in result.stderr and "n_ctx" in result.stderr


def test_help_still_lists_the_commands(env) -> None:
    result = python(env, "-m", "chatapp", "--help")
    assert result.returncode == 0, result.stderr
    assert "ask" in result.stdout and "history" in result.stdout


def test_no_config_file_means_what_an_empty_one_validates_to(tmp_path: Path) -> None:
    env = {"CHATAPP_DATA_DIR": str(tmp_path / "data")}
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    missing = load_settings(tmp_path / "missing.toml", env, user="alice")
    assert redacted(missing) == redacted(load_settings(empty, env, user="alice"))
    # The embedded model's values pass the validation they skip.
    values = {"data_dir": str(tmp_path / "data"), "user": "alice"}
    values["models"] = {"smollm2": asdict(embedded_model())}
    assert redacted(missing) == redacted(Settings.validated(values))
