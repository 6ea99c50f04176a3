"""MemoryRepo over real TinyDB files: one user's memories, one file, one atomic change."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import orjson
import pytest

from chatapp.core.models import Memory, MemorySource
from chatapp.store.errors import CorruptFile, MemoryNotFound
from chatapp.store.memory import MemoryRepo
from chatapp.store.users import UserDir
from tests.unit.store.conftest import USER

REPO_ROOT = Path(__file__).resolve().parents[3]
KILL_ROUNDS = 30


@pytest.fixture
def memories(data_dir: Path) -> MemoryRepo:
    return MemoryRepo(UserDir(data_dir, USER))


def remember(repo: MemoryRepo, text: str, **fields: object) -> Memory:
    memory = Memory(user=repo.user, text=text, **fields)  # type: ignore[arg-type]
    repo.change(lambda memories: memories.append(memory))
    return memory


def test_a_user_without_memories_has_an_empty_list_and_no_file(
    memories: MemoryRepo, user_dir: Path
) -> None:
    assert memories.all() == []
    assert not (user_dir / "memory.json").exists()


def test_memories_come_back_after_a_restart_oldest_first(
    memories: MemoryRepo, data_dir: Path
) -> None:
    earlier = {"text": "I live in Lyon", "updated": 1.0, "source": "explicit"}
    first = remember(memories, "I'm vegetarian", source=MemorySource.SUGGESTED)
    second = remember(memories, "I live in Paris", slot="location", pinned=True, history=[earlier])

    again = MemoryRepo(UserDir(data_dir, USER))

    assert again.all() == [first, second]
    assert again.get(second.id).history == [earlier]
    assert again.all()[0].source is MemorySource.SUGGESTED


def test_change_edits_in_place_and_returns_what_fn_returned(memories: MemoryRepo) -> None:
    kept = remember(memories, "keep me")
    dropped = remember(memories, "drop me")

    def prune(stored: list[Memory]) -> str:
        stored.remove(next(m for m in stored if m.id == dropped.id))
        stored[0].pinned = True
        return "pruned"

    assert memories.change(prune) == "pruned"
    [left] = memories.all()
    assert (left.id, left.pinned) == (kept.id, True)


def test_a_change_that_changes_nothing_writes_nothing(memories: MemoryRepo, user_dir: Path) -> None:
    remember(memories, "a fact")
    path = user_dir / "memory.json"
    written = path.stat().st_mtime_ns

    assert memories.change(len) == 1

    assert path.stat().st_mtime_ns == written


def test_a_change_that_fails_writes_nothing(memories: MemoryRepo) -> None:
    remember(memories, "a fact")

    def half_done(stored: list[Memory]) -> None:
        stored.clear()
        raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError):
        memories.change(half_done)
    assert [m.text for m in memories.all()] == ["a fact"]


def test_an_unknown_id_is_a_one_line_error(memories: MemoryRepo) -> None:
    with pytest.raises(MemoryNotFound, match="^memory nope not found$"):
        memories.get("nope")


def test_two_users_never_share_a_memory(data_dir: Path) -> None:
    sam = MemoryRepo(UserDir(data_dir, "sam"))
    kim = MemoryRepo(UserDir(data_dir, "kim"))
    remember(sam, "Sam is vegetarian")
    remember(kim, "Kim lives in Shanghai")

    assert [m.text for m in sam.all()] == ["Sam is vegetarian"]
    assert [m.text for m in kim.all()] == ["Kim lives in Shanghai"]
    assert (data_dir / "users" / "sam" / "memory.json").exists()
    assert (data_dir / "users" / "kim" / "memory.json").exists()


@pytest.mark.parametrize(
    "content",
    [b'{"memories": {"1": {"text": "I live in Par', b"", b"[1, 2, 3]"],
    ids=["cut short", "empty", "not tinydb"],
)
def test_a_corrupt_memory_file_is_moved_aside_and_the_next_call_starts_empty(
    memories: MemoryRepo, user_dir: Path, content: bytes
) -> None:
    remember(memories, "lost to the disk")
    path = user_dir / "memory.json"
    path.write_bytes(content)

    with pytest.raises(CorruptFile) as caught:
        memories.all()

    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message and "moved aside to memory.json.corrupt-" in message
    [moved] = user_dir.glob("memory.json.corrupt-*")
    assert moved.read_bytes() == content
    assert memories.all() == []
    remember(memories, "a new start")
    assert [m.text for m in memories.all()] == ["a new start"]


def test_a_corrupt_memory_file_met_by_a_change_is_moved_aside_and_nothing_written(
    memories: MemoryRepo, user_dir: Path
) -> None:
    user_dir.mkdir(parents=True)
    (user_dir / "memory.json").write_bytes(b"{not json")

    with pytest.raises(CorruptFile, match="moved aside"):
        remember(memories, "not saved")

    assert len(list(user_dir.glob("memory.json.corrupt-*"))) == 1
    remember(memories, "saved")
    assert [m.text for m in memories.all()] == ["saved"]


@pytest.mark.parametrize(
    "record",
    [{"text": "no user"}, {"user": USER, "text": 42}, {"user": USER, "text": "x", "source": "?"}],
    ids=["no user", "text not a string", "unknown source"],
)
def test_a_file_of_records_that_are_not_memories_is_moved_aside_too(
    memories: MemoryRepo, user_dir: Path, record: dict[str, object]
) -> None:
    user_dir.mkdir(parents=True)
    content = orjson.dumps({"memories": {"1": record}})
    (user_dir / "memory.json").write_bytes(content)

    with pytest.raises(CorruptFile, match="moved aside"):
        memories.all()

    [moved] = user_dir.glob("memory.json.corrupt-*")
    assert moved.read_bytes() == content
    assert memories.all() == []


def test_threads_sharing_one_repo_lose_nothing(memories: MemoryRepo) -> None:
    def add_many(name: str) -> None:
        for number in range(30):
            remember(memories, f"{name} {number}")

    threads = [threading.Thread(target=add_many, args=(name,)) for name in "abc"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(memories.all()) == 90


@pytest.mark.slow
def test_kill_9_during_memory_writes_loses_no_committed_memory(data_dir: Path) -> None:
    rng = random.Random(20261203)
    promised: dict[str, str] = {}
    for _ in range(KILL_ROUNDS):
        writer = _spawn(data_dir, "chaos")
        _wait_until_ready(writer)
        # Random moment: mid-write, mid-fsync, between temp file and rename, mid-undo...
        threading.Event().wait(rng.uniform(0.0, 0.15))
        writer.send_signal(signal.SIGKILL)
        output, errors = writer.communicate(timeout=30)
        assert writer.returncode == -signal.SIGKILL, f"the writer died on its own:\n{errors}"
        promised.update(_committed(output))

        stored = {m.id: m.text for m in MemoryRepo(UserDir(data_dir, USER)).all()}
        missing = promised.keys() - stored.keys()
        assert not missing, f"{len(missing)} committed memories lost"
        assert all(stored[mid] == text for mid, text in promised.items())
        assert sum(text.startswith("I live in city") for text in stored.values()) <= 1
        assert not list(data_dir.rglob("*.corrupt-*"))
    assert len(promised) > KILL_ROUNDS, "the writer should have committed memories"


@pytest.mark.slow
def test_two_processes_adding_memories_lose_nothing(data_dir: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    writers = [_spawn(data_dir, "add", "100", str(go)) for _ in range(2)]
    for writer in writers:
        _wait_until_ready(writer)
    go.touch()
    results = [writer.communicate(timeout=60) for writer in writers]

    assert [writer.returncode for writer in writers] == [0, 0], [err for _, err in results]
    printed = [_committed(output) for output, _ in results]
    assert [len(ids) for ids in printed] == [100, 100]
    stored = {m.id: m.text for m in MemoryRepo(UserDir(data_dir, USER)).all()}
    assert stored == printed[0] | printed[1]


def _spawn(data_dir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.unit.store.memory_writer", str(data_dir), USER, *args],
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


def _committed(output: str) -> dict[str, str]:
    """Memory id -> text, from complete lines only (the last may be cut off)."""
    committed: dict[str, str] = {}
    for line in output.split("\n")[:-1]:
        memory_id, _, text = line.partition(" ")
        committed[memory_id] = text
    return committed
