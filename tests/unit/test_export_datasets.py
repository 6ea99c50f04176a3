"""Every export loads with Hugging Face `datasets` as it is, in the shapes DESIGN.md gives
(TRL's conversational formats, OpenAI preference fine-tuning), from a log recorded
through the real store, with nothing fetched from the network; and the export command,
which keeps saved memories in prompts only when told (--with-memories)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from chatapp.core.feedback.export import UserFeedback, export, user_hash, write_export
from chatapp.core.feedback.log import FeedbackLog
from chatapp.core.feedback.records import Author, Candidate
from chatapp.core.memory.retrieve import pinned_block
from chatapp.core.models import Memory
from chatapp.store.feedback import FeedbackRepo, export_key
from chatapp.store.users import UserDir
from tests.unit.test_feedback_cli import run

USER = "tester"
QUESTION = [
    {"role": "system", "content": "回答要简短。"},
    {"role": "user", "content": "中国的首都是哪里？"},
]
FOLLOW_UP = [
    {"role": "user", "content": "Capital of France?"},
    {"role": "assistant", "content": "Paris."},
    {"role": "user", "content": "And of Italy?"},
]
SHAPES = {
    "raw": {
        "schema",
        "event_id",
        "ts",
        "user",
        "conversation_id",
        "type",
        "source",
        "context",
        "candidates",
        "rating",
        "choice",
        "correction",
        "consent",
        "app_version",
    },
    "dpo": {"prompt", "chosen", "rejected"},
    "kto": {"prompt", "completion", "label"},
    "sft": {"messages"},
    "openai": {"input", "preferred_output", "non_preferred_output"},
}


def reply(message_id: str, text: str, author: Author = Author.MODEL) -> Candidate:
    return Candidate(message_id, text, "smollm2", {"temperature": 0.7}, written_by=author)


@pytest.fixture
def repo(data_dir: Path) -> FeedbackRepo:
    """A log as the app records it: one event before the user said yes (never to be
    exported), then ratings, a choice, a correction and a regenerate, in Chinese and
    English."""
    repo = FeedbackRepo(UserDir(data_dir, USER).feedback)
    log = FeedbackLog(repo, USER)
    log.rate(reply("x1", "不该导出的回答"), +1, QUESTION, conversation_id="c0")
    log.set_consent(True)
    log.rate(reply("a1", "北京。"), +1, QUESTION, conversation_id="c1", reasons=["accurate"])
    log.rate(reply("a2", "上海。"), -1, QUESTION, conversation_id="c1", reasons=["wrong facts"])
    log.prefer([reply("b1", "Rome."), reply("b2", "Milan.")], "b1", FOLLOW_UP, conversation_id="c2")
    log.corrected(
        reply("b3", "Milan is the capital."),
        reply("b4", "Rome is the capital.", Author.USER),
        FOLLOW_UP,
        conversation_id="c2",
    )
    log.regenerated(
        reply("a3", "南京。"), QUESTION, conversation_id="c1", new=reply("a4", "北京！")
    )
    return repo


@pytest.fixture
def load_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """datasets.load_dataset("json", ...) offline, its cache in tmp_path."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import datasets  # after the variables, which it reads when first imported

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)

    def load(path: Path) -> Any:
        return datasets.load_dataset(
            "json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf-cache")
        )

    return load


def exported(repo: FeedbackRepo, format: str, folder: Path) -> Path:
    path = folder / f"{format}.jsonl"
    feedback = [UserFeedback(USER, repo.events_by_month, repo.consent())]
    write_export(export(feedback, format, key=export_key(folder / "key")), path)
    return path


def is_message(message: object, role: str) -> bool:
    return (
        isinstance(message, dict)
        and set(message) == {"role", "content"}
        and message["role"] == role
        and isinstance(message["content"], str)
        and bool(message["content"].strip())
    )


def is_prompt(messages: object) -> bool:
    """An optional system message, then user and assistant turns in turn, the user's last."""
    if not isinstance(messages, list) or not messages:
        return False
    turns = messages[1:] if is_message(messages[0], "system") else messages
    roles = ["user" if n % 2 == 0 else "assistant" for n in range(len(turns))]
    return len(turns) % 2 == 1 and all(map(is_message, turns, roles))


def is_reply(messages: object) -> bool:
    return (
        isinstance(messages, list) and len(messages) == 1 and is_message(messages[0], "assistant")
    )


@pytest.mark.parametrize("format", ["raw", "dpo", "kto", "sft", "openai"])
def test_every_format_loads_with_datasets_in_its_documented_shape(
    repo: FeedbackRepo, load_json: Any, tmp_path: Path, format: str
) -> None:
    path = exported(repo, format, tmp_path)

    rows = load_json(path)

    assert set(rows.column_names) == SHAPES[format]
    assert len(rows) > 0
    assert "不该导出的回答" not in path.read_text(encoding="utf-8")
    for row in rows:
        if format == "dpo":
            assert (
                is_prompt(row["prompt"]) and is_reply(row["chosen"]) and is_reply(row["rejected"])
            )
        elif format == "kto":
            assert is_prompt(row["prompt"]) and is_reply(row["completion"])
            assert isinstance(row["label"], bool)
        elif format == "sft":
            *prompt, answer = row["messages"]
            assert is_prompt(prompt) and is_message(answer, "assistant")
        elif format == "openai":
            assert set(row["input"]) == {"messages"} and is_prompt(row["input"]["messages"])
            assert is_reply(row["preferred_output"]) and is_reply(row["non_preferred_output"])
        else:
            assert row["user"] == user_hash(export_key(tmp_path / "key"), USER)
            assert all(is_message(turn, turn["role"]) for turn in row["context"])
            assert isinstance(row["ts"], float) and row["consent"] is True


def test_chinese_text_comes_back_as_it_was_written(
    repo: FeedbackRepo, load_json: Any, tmp_path: Path
) -> None:
    rows = load_json(exported(repo, "dpo", tmp_path))

    by_chosen = {row["chosen"][0]["content"]: row for row in rows}
    assert by_chosen["北京。"]["prompt"] == QUESTION
    assert by_chosen["北京。"]["rejected"] == [{"role": "assistant", "content": "上海。"}]
    assert by_chosen["Rome."]["prompt"] == FOLLOW_UP
    assert by_chosen["Rome is the capital."]["rejected"][0]["content"] == "Milan is the capital."


def test_kto_labels_load_as_booleans(repo: FeedbackRepo, load_json: Any, tmp_path: Path) -> None:
    rows = load_json(exported(repo, "kto", tmp_path))

    labels = {row["completion"][0]["content"]: row["label"] for row in rows}
    assert labels == {
        "北京。": True,
        "上海。": False,
        "Milan is the capital.": False,
        "Rome is the capital.": True,
    }
    assert str(rows.features["label"].dtype) == "bool"


def test_the_export_command_keeps_saved_memories_only_when_asked(
    env: dict[str, str], load_json: Any, tmp_path: Path
) -> None:
    pinned = pinned_block([Memory(user=USER, text="我住在北京")], today=date(2026, 5, 1))
    seen = [{"role": "system", "content": f"Be brief.\n\n{pinned}"}, QUESTION[1]]
    repo = FeedbackRepo(UserDir(Path(env["CHATAPP_DATA_DIR"]), USER).feedback)
    log = FeedbackLog(repo, USER)
    log.set_consent(True)
    log.rate(reply("a1", "北京。"), +1, seen, conversation_id="c1")
    out = tmp_path / "sft.jsonl"

    plain = run(env, "export", "-f", "sft", "-o", str(out))
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.startswith("1 sft rows from 1 user\n")
    assert load_json(out)[0]["messages"][0] == {"role": "system", "content": "Be brief."}

    kept = run(env, "export", "-f", "sft", "-o", str(out), "--with-memories")
    assert kept.returncode == 0, kept.stderr
    assert load_json(out)[0]["messages"][0] == seen[0]
