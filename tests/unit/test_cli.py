"""The `chatapp` command as a user runs it: real processes, the real embedded model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from chatapp.core.models import FinishReason, Role
from chatapp.store.conversations import ConversationRepo
from chatapp.store.users import UserDir
from tests.fixtures.servers import KEY_ENV, SECRET_KEY

CHATAPP = [sys.executable, "-m", "chatapp"]


def run(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CHATAPP, *args], env=env, input=stdin if stdin is not None else "",
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def repo(env: dict[str, str]) -> ConversationRepo:
    return ConversationRepo(UserDir(Path(env["CHATAPP_DATA_DIR"]), "tester"))


def test_ask_answers_offline_with_the_embedded_model(env) -> None:
    result = run(env, "ask", "--json", "--max-tokens", "24", "What is the capital of France?")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["text"].strip()
    assert answer["finish_reason"] in ("stop", "length")
    assert answer["usage"]["prompt_tokens"] > 0 and answer["usage"]["completion_tokens"] > 0
    assert answer["model"] == "smollm2"
    stored = repo(env).list_conversations()
    assert [s.id for s in stored] == [answer["conversation_id"]]


def test_ask_streams_plain_text_and_history_show_rm(env) -> None:
    result = run(env, "ask", "--max-tokens", "16", "Say hello.")
    assert result.returncode == 0 and result.stdout.strip()
    history = run(env, "history")
    conversation_id = history.stdout.split()[0]
    assert "Say hello." in history.stdout
    shown = run(env, "show", conversation_id)
    assert "## You" in shown.stdout and "Say hello." in shown.stdout
    assert "## Assistant (smollm2)" in shown.stdout
    assert run(env, "rm", conversation_id).returncode == 0
    assert run(env, "history").stdout.strip() == ""
    missing = run(env, "show", conversation_id)
    assert missing.returncode == 1 and "not found" in missing.stderr


def test_piped_stdin_is_appended_to_the_question(env) -> None:
    result = run(env, "ask", "--max-tokens", "8", "Summarise:", stdin="line one\nline two\n")
    assert result.returncode == 0, result.stderr
    summary = repo(env).list_conversations()[0]
    _, messages = repo(env).load(summary.id)
    assert messages[0].content == "Summarise:\n\nline one\nline two"


def test_continue_and_regenerate_build_on_the_last_conversation(env) -> None:
    assert run(env, "ask", "--max-tokens", "8", "My cat is called Tom.").returncode == 0
    assert run(env, "ask", "--continue", "--max-tokens", "8", "What is its name?").returncode == 0
    again = run(env, "regenerate", "--json")
    assert again.returncode == 0, again.stderr
    (summary,) = repo(env).list_conversations()
    conversation, messages = repo(env).load(summary.id)
    questions = [m for m in messages if m.role == Role.USER]
    assert [q.content for q in questions] == ["My cat is called Tom.", "What is its name?"]
    replies = [m for m in messages if m.parent_id == questions[1].id]
    assert len(replies) == 2
    assert conversation.active_leaf == json.loads(again.stdout)["message_id"]


def test_no_save_stores_nothing(env) -> None:
    assert run(env, "ask", "--no-save", "--max-tokens", "8", "Hi").returncode == 0
    assert repo(env).list_conversations() == []


def test_a_bad_config_is_one_line_and_exit_code_2(env) -> None:
    Path(env["CHATAPP_CONFIG"]).write_text('[models.x]\nbackend = "llama"\nn_ctx = -5\n')
    result = run(env, "ask", "hi")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert f"{env['CHATAPP_CONFIG']}:3:" in result.stderr and "n_ctx" in result.stderr


def test_unknown_model_is_a_usage_error(env) -> None:
    result = run(env, "ask", "--model", "nope", "hi")
    assert result.returncode == 2 and "unknown model 'nope'" in result.stderr


def test_remote_errors_are_one_line_and_keep_the_question(env, fault_server) -> None:
    Path(env["CHATAPP_CONFIG"]).write_text(
        f'[models.remote]\nbackend = "openai"\n'
        f'base_url = "{fault_server.base_url("unauthorized")}"\n'
        f'model = "fault-model"\napi_key_env = "{KEY_ENV}"\n'
    )
    env[KEY_ENV] = SECRET_KEY
    result = run(env, "ask", "--model", "remote", "Is my question kept?")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "rejected the API key" in result.stderr
    assert SECRET_KEY not in result.stderr + result.stdout
    shown = run(env, "config", "show")
    assert SECRET_KEY not in shown.stdout and '"api_key": "***"' in shown.stdout
    (summary,) = repo(env).list_conversations()
    _, messages = repo(env).load(summary.id)
    assert [m.content for m in messages] == ["Is my question kept?"]


def test_ctrl_c_stops_keeps_the_partial_reply_and_exits_130(env) -> None:
    process = subprocess.Popen(
        [*CHATAPP, "ask", "--max-tokens", "2000", "Write a very long story about the sea."],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    received = b""
    deadline = time.monotonic() + 60
    while len(received) < 40 and time.monotonic() < deadline:
        received += os.read(process.stdout.fileno(), 64)
    process.send_signal(signal.SIGINT)
    _, _ = process.communicate(timeout=30)
    assert process.returncode == 130
    (summary,) = repo(env).list_conversations()
    _, messages = repo(env).load(summary.id)
    reply = messages[-1]
    assert reply.role == Role.ASSISTANT
    assert reply.finish_reason == FinishReason.CANCELLED and reply.incomplete
    assert reply.content.startswith(received.decode(errors="ignore")[:20])


def test_config_path_honours_the_override(env) -> None:
    assert run(env, "config", "path").stdout.strip() == env["CHATAPP_CONFIG"]


def test_models_lists_the_embedded_model_as_reachable(env) -> None:
    result = run(env, "models")
    assert result.returncode == 0
    assert "smollm2" in result.stdout and "ok (" in result.stdout and "offline" in result.stdout
