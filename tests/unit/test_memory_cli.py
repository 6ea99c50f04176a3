"""`chatapp memory ...` as a user runs it: one user's memories, round-tripped exactly."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.test_cli import run
from tests.unit.test_cli_failures import one_line


def ids(env) -> list[str]:
    return [line.split()[0] for line in run(env, "memory", "list").stdout.splitlines()]


def test_add_list_edit_pin_undo_and_forget(env) -> None:
    assert run(env, "memory", "add", "My name is Sam").stdout == "remembered: My name is Sam\n"
    replaced = run(env, "memory", "add", "My name is Samuel")
    assert replaced.stdout == "memory updated: My name is Samuel (was: My name is Sam)\n"
    assert run(env, "memory", "add", "我对花生过敏").returncode == 0
    name, peanuts = ids(env)
    assert "[name] My name is Samuel" in run(env, "memory", "list").stdout
    assert run(env, "memory", "list", "花生").stdout.count("\n") == 1

    assert "My name is Sam" in run(env, "memory", "undo", name).stdout
    assert "📌" in run(env, "memory", "pin", name).stdout
    assert run(env, "memory", "edit", peanuts, "我对花生和腰果过敏").returncode == 0
    assert "腰果" in run(env, "memory", "list").stdout
    assert run(env, "memory", "rm", peanuts).stdout == "forgot 1 of 1\n"
    assert ids(env) == [name]


def test_a_secret_is_refused_in_one_line(env) -> None:
    result = run(
        env, "memory", "add", "my github token is ghp_0123456789abcdefghijABCDEFGHIJ012345"
    )
    assert result.returncode == 1
    assert "not saved: it looks like" in one_line(result)
    assert ids(env) == []


def test_export_then_import_round_trips_exactly(env, tmp_path: Path) -> None:
    for fact in ("Lives in Leeds", "喜欢吃辣", "Works as a nurse"):
        assert run(env, "memory", "add", fact).returncode == 0
    first = tmp_path / "memories.json"
    assert run(env, "memory", "export", "-o", str(first)).returncode == 0
    assert run(env, "memory", "clear", "--yes").stdout == "forgot 3 memories\n"
    assert ids(env) == []
    assert run(env, "memory", "import", str(first)).stdout == "imported 3 memories\n"
    again = run(env, "memory", "export").stdout.encode()
    assert again == first.read_bytes()
    assert len(json.loads(again)["memories"]) == 3


def test_memory_off_is_said_and_kept(env) -> None:
    assert run(env, "memory", "off").stdout == "memory is off\n"
    listed = run(env, "memory", "list")
    assert "memory is off for this user" in listed.stderr
    assert run(env, "memory", "on").stdout == "memory is on\n"
    assert run(env, "memory", "list").stderr == ""
