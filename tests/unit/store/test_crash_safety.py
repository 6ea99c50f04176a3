"""Writers killed with SIGKILL, and writers racing each other, never lose committed data."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from chatapp.core.models import Message, Role
from chatapp.store.conversations import ConversationRepo
from chatapp.store.users import UserDir
from tests.unit.store.conftest import USER, Chat

REPO_ROOT = Path(__file__).resolve().parents[3]
KILL_ROUNDS = 30

pytestmark = pytest.mark.slow


def test_kill_9_at_any_moment_loses_no_committed_message(data_dir: Path) -> None:
    rng = random.Random(20261123)
    promised: dict[str, int] = {}
    for _ in range(KILL_ROUNDS):
        writer = _spawn(data_dir, "chaos")
        _wait_until_ready(writer)
        # Random moment: mid-append, mid-fsync, between temp file and rename, in the index...
        threading.Event().wait(rng.uniform(0.0, 0.15))
        writer.send_signal(signal.SIGKILL)
        output, errors = writer.communicate(timeout=30)
        assert writer.returncode == -signal.SIGKILL, f"the writer died on its own:\n{errors}"
        for message_id, length in _committed(output).items():
            promised[message_id] = max(promised.get(message_id, 0), length)

        _assert_all_files_load_and_keep(data_dir, promised)
    assert len(promised) > KILL_ROUNDS, "the writer should have committed messages"


def test_two_processes_appending_to_one_conversation_lose_nothing(
    chat: Chat, data_dir: Path, tmp_path: Path
) -> None:
    conversation = chat.start("shared")
    go = tmp_path / "go"
    writers = [_spawn(data_dir, "append", conversation.id, "200", str(go)) for _ in range(2)]
    for writer in writers:
        _wait_until_ready(writer)
    go.touch()
    results = [writer.communicate(timeout=60) for writer in writers]

    assert [writer.returncode for writer in writers] == [0, 0], [err for _, err in results]
    printed = [set(_committed(output)) for output, _ in results]
    assert [len(ids) for ids in printed] == [200, 200]
    _, messages = chat.repo.load(conversation.id)
    assert {m.id for m in messages} == printed[0] | printed[1]
    assert len(messages) == 400
    assert chat.repo.list_conversations()[0].message_count == 400


def test_threads_sharing_one_repo_lose_nothing(chat: Chat) -> None:
    conversation = chat.start("threads")

    def append_many(name: str) -> None:
        for number in range(50):
            chat.repo.append_message(Message(conversation.id, Role.USER, f"{name} {number}"))

    threads = [threading.Thread(target=append_many, args=(name,)) for name in "abc"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(chat.repo.load(conversation.id)[1]) == 150


def _spawn(data_dir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.unit.store.writer", str(data_dir), USER, *args],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_until_ready(writer: subprocess.Popen[str]) -> None:
    assert writer.stdout is not None
    line = writer.stdout.readline()
    if line != "ready\n":
        writer.kill()
        pytest.fail(f"writer did not start: {line!r} {writer.communicate()[1]}")


def _committed(output: str) -> dict[str, int]:
    """Message id -> content length, from complete lines only (the last may be cut off)."""
    committed: dict[str, int] = {}
    for line in output.split("\n")[:-1]:
        message_id, length = line.split()
        committed[message_id] = max(committed.get(message_id, 0), int(length))
    return committed


def _assert_all_files_load_and_keep(data_dir: Path, promised: dict[str, int]) -> None:
    repo = ConversationRepo(UserDir(data_dir, USER))
    stored: dict[str, int] = {}
    for summary in repo.list_conversations():
        _, messages = repo.load(summary.id)
        assert summary.message_count == len(messages)
        stored.update({m.id: len(m.content) for m in messages})
    missing = promised.keys() - stored.keys()
    assert not missing, f"{len(missing)} committed messages lost"
    shortened = [mid for mid, length in promised.items() if stored[mid] < length]
    assert not shortened, f"{len(shortened)} committed replies lost text"
    assert not list(repo.folder.root.rglob("*.corrupt-*"))
