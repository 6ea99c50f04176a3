"""Feedback from the shell as a user gives it: rate, prefer, correct, say yes to training,
read the totals, export a data set. Real `chatapp` processes; the conversations they
work on are made in-process against the scripted server, one with the embedded model."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import stat
import subprocess
import sys
from pathlib import Path

from chatapp.config import ModelConfig, load_settings
from chatapp.core.workspace import Workspace
from tests.fixtures.scripted import ScriptedServer
from tests.unit.test_cli import CHATAPP, repo
from tests.unit.test_cli_failures import configure, one_line

NOT_A_MESSAGE = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def run(env: dict[str, str], *args: str, stdin: str | int = "") -> subprocess.CompletedProcess[str]:
    """test_cli.run, in a session of its own: no terminal to ask the consent question on,
    whatever terminal the tests run in (stdin=a file descriptor to pass one in)."""
    return subprocess.run(
        [*CHATAPP, *args], env=env, capture_output=True, text=True, timeout=120,
        start_new_session=True,
        **({"input": stdin} if isinstance(stdin, str) else {"stdin": stdin}),
    )  # fmt: skip


def scripted(env: dict[str, str], server: ScriptedServer, replies: list[str]) -> ModelConfig:
    """The scripted model, the only one configured, answering with replies in turn."""
    config = server.config({"question": replies})
    server.script(config).title = "A title"  # so that titles never take a reply
    configure(env, config)
    return config


def converse(
    env: dict[str, str],
    question: str,
    versions: int = 1,
    *,
    user: str = "tester",
    consent: bool | None = None,
) -> str:
    """A stored conversation of user with question and `versions` replies to it (the
    first, then regenerated ones), after the user's answer about training if given; the
    id of the first reply."""
    settings = load_settings(env=env, user=user)

    async def talk() -> str:
        workspace = Workspace(settings)
        if consent is not None:
            workspace.feedback.log.set_consent(consent)
        session = workspace.new_session()
        first = await session.send(question).wait()
        for _ in range(versions - 1):
            await session.regenerate().wait()
        while pending := asyncio.all_tasks() - {asyncio.current_task()}:
            await asyncio.gather(*pending)
        await workspace.aclose(title_wait=0)
        return first.id

    return asyncio.run(talk())


def stats(env: dict[str, str]) -> dict:
    result = run(env, "feedback", "stats", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_ask_then_rate_the_last_reply_and_rate_it_again(env) -> None:
    asked = run(env, "ask", "--json", "--max-tokens", "8", "What is the capital of France?")
    assert asked.returncode == 0, asked.stderr
    reply = json.loads(asked.stdout)["message_id"]

    rated = run(env, "rate", "up", "--reason", "accurate", "-r", "Clear")
    assert rated.stdout == f"rated {reply} up (accurate, clear)\n"
    assert "chatapp feedback consent yes" in one_line(rated)  # no terminal to ask on
    counts = stats(env)
    assert counts["by_label"] == {"up": 1} and counts["by_reason"] == {"accurate": 1, "clear": 1}
    assert counts["consent"] is None and counts["held_back"] == 1

    again = run(env, "rate", reply, "down", "-r", "too-long", "--comment", "rambles")
    assert again.stdout == f"rated {reply} down (too long)\n"
    assert stats(env)["by_label"] == {"down": 1}  # the latest rating counts
    assert run(env, "rate", reply, "none").stdout == f"took back the rating of {reply}\n"

    wrong = run(env, "rate", "up", "-r", "too long")
    assert wrong.returncode == 2 and "(one of: accurate, followed instructions" in one_line(wrong)
    unknown = run(env, "rate", NOT_A_MESSAGE, "up")
    assert unknown.returncode == 1 and f"no message {NOT_A_MESSAGE}" in one_line(unknown)


def test_prefer_one_of_two_regenerated_versions(env, scripted_server) -> None:
    scripted(env, scripted_server, ["Paris.", "It is Paris, on the Seine."])
    first = converse(env, "question", versions=2)

    preferred = run(env, "prefer", first)
    assert preferred.returncode == 0, preferred.stderr
    assert preferred.stdout == f"preferred {first} to 1 other version\n"
    counts = stats(env)
    assert counts["by_label"] == {"preferred": 1, "regenerate": 1}
    assert counts["dpo_pairs"] == 1
    both = run(env, "prefer", first, "--tie", "--all-bad")
    assert both.returncode == 2 and "not both" in one_line(both)


def test_a_correction_from_stdin_is_the_chosen_reply_of_a_dpo_pair(
    env, scripted_server, tmp_path
) -> None:
    scripted(env, scripted_server, ["我不知道。"])
    assert run(env, "feedback", "consent", "yes").returncode == 0
    original = converse(env, "question")

    corrected = run(env, "correct", "last", stdin="北京是中国的首都。\n")
    assert corrected.returncode == 0, corrected.stderr
    new_id = corrected.stdout.strip()
    (summary,) = repo(env).list_conversations()
    messages = {m.id: m for m in repo(env).load(summary.id)[1]}
    assert messages[new_id].written_by == "user"
    assert messages[new_id].parent_id == messages[original].parent_id
    assert messages[new_id].content == "北京是中国的首都。"
    same = run(env, "correct", original, stdin="我不知道。")
    assert same.returncode == 1 and "unchanged" in one_line(same)
    assert len(repo(env).load(summary.id)[1]) == 3  # nothing more stored

    out = tmp_path / "pairs.jsonl"
    exported = run(env, "export", "--format", "dpo", "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith("1 dpo rows from 1 user\n")
    [row] = rows(out)
    assert row["prompt"][-1] == {"role": "user", "content": "question"}
    assert row["chosen"] == [{"role": "assistant", "content": "北京是中国的首都。"}]
    assert row["rejected"] == [{"role": "assistant", "content": "我不知道。"}]
    assert (tmp_path / "pairs.md").read_text().startswith("---\npretty_name:")


def test_a_correction_in_the_editor(env, scripted_server, tmp_path) -> None:
    scripted(env, scripted_server, ["Sydney is the capital of Australia."])
    original = converse(env, "question")
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import os, pathlib, stat, sys\n"
        "path = pathlib.Path(sys.argv[1])\n"
        "assert stat.S_IMODE(os.stat(path).st_mode) == 0o600\n"
        "path.write_text(path.read_text().replace('Sydney', 'Canberra') + '\\n')\n"
    )
    env["VISUAL"] = f"{sys.executable} {editor}"
    terminal, other_end = pty.openpty()  # stdin a terminal: the editor is opened
    try:
        corrected = run(env, "correct", original, stdin=other_end)
    finally:
        os.close(terminal)
        os.close(other_end)
    assert corrected.returncode == 0, corrected.stderr
    (summary,) = repo(env).list_conversations()
    messages = {m.id: m for m in repo(env).load(summary.id)[1]}
    assert messages[corrected.stdout.strip()].content == "Canberra is the capital of Australia."


def test_kto_of_one_label_is_refused_unless_forced_and_no_consent_holds_back(
    env, scripted_server, tmp_path
) -> None:
    scripted(env, scripted_server, ["Paris."])
    converse(env, "question")
    out = tmp_path / "kto.jsonl"
    assert run(env, "rate", "up").returncode == 0  # before any consent
    held = run(env, "export", "--format", "kto", "-o", str(out))
    assert held.returncode == 0, held.stderr
    assert "0 kto rows from 0 users; 1 event held back (no consent for training)" in held.stdout

    assert run(env, "feedback", "consent", "yes").returncode == 0
    assert run(env, "rate", "up", "-r", "accurate").returncode == 0
    refused = run(env, "export", "--format", "kto", "-o", str(out))
    assert refused.returncode == 1
    assert "labels are all true (1 true, 0 false)" in one_line(refused)
    assert "--force" in one_line(refused)
    forced = run(env, "export", "--format", "kto", "-o", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert [row["label"] for row in rows(out)] == [True]


def test_export_one_user_or_all_and_never_over_a_file_not_named(
    env, scripted_server, tmp_path
) -> None:
    scripted(env, scripted_server, ["Paris. Write to me at ann@example.com."])
    for user in ("alice", "bob"):
        converse(env, "question", user=user, consent=True)
        assert run(env, "rate", "up", "-u", user).returncode == 0
    out = tmp_path / "liked.jsonl"

    alice = run(env, "export", "-f", "sft", "-o", str(out), "--user", "alice")
    assert alice.stdout.startswith("1 sft rows from 1 user\n"), alice.stderr
    everyone = run(env, "export", "-f", "raw", "-o", str(out), "--all-users")
    assert everyone.stdout.startswith("2 raw rows from 2 users\n"), everyone.stderr
    assert {row["user"] for row in rows(out)}.isdisjoint({"alice", "bob"})
    assert "ann@example.com" not in out.read_text()  # redacted unless --no-redact
    key = Path(env["CHATAPP_DATA_DIR"]) / "feedback-export.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    both = run(env, "export", "-f", "sft", "-o", str(out), "-u", "bob", "--all-users")
    assert both.returncode == 2 and "not both" in one_line(both)
    since = run(env, "export", "-f", "sft", "-o", str(out), "--since", "last week")
    assert since.returncode == 2 and "YYYY-MM-DD" in one_line(since)
    notes = tmp_path / "notes.md"
    notes.write_text("my notes")
    beside = run(env, "export", "-f", "sft", "-o", str(tmp_path / "notes.jsonl"))
    assert beside.returncode == 1 and "not a chatapp dataset card" in one_line(beside)
    assert notes.read_text() == "my notes" and not (tmp_path / "notes.jsonl").exists()
