"""The `chatapp` command when things fail, run as a user runs it (real processes, real
files, real servers on loopback): every failure is one line on stderr, never a traceback,
and nothing stored or typed is lost."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from chatapp.config import ModelConfig
from tests.fixtures.disks import fill, full_disk, read_only
from tests.fixtures.servers import KEY_ENV, SECRET_KEY
from tests.unit.test_cli import repo, run

ESCAPES = "\x1b[2J\x1b[H\x1b]0;pwned\x07\x9b31m"
NASTY_REPLY = f"Hello {ESCAPES}world \x1b[?1049h done"


def configure(env: dict[str, str], *models: ModelConfig, default: str | None = None) -> None:
    """Write a config file with these models (the first is the default)."""
    lines = [f'default_model = "{default or models[0].name}"']
    for model in models:
        lines.append(f"[models.{model.name}]")
        for key in ("backend", "base_url", "model", "path", "n_ctx", "timeout", "api_key_env"):
            value = getattr(model, key)
            if value is not None:
                lines.append(f"{key} = {json.dumps(str(value) if key == 'path' else value)}")
    Path(env["CHATAPP_CONFIG"]).write_text("\n".join(lines) + "\n")


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one stderr line of a failed command (and no traceback anywhere)."""
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("chatapp: ")
    return lines[0]


def data_files(env: dict[str, str]) -> dict[str, bytes]:
    root = Path(env["CHATAPP_DATA_DIR"])
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# -- a read-only data folder ---------------------------------------------------------------


def test_every_command_on_a_read_only_data_folder_is_clean(env, scripted_server) -> None:
    configure(env, scripted_server.config())
    assert run(env, "ask", "Stored before").returncode == 0
    (summary,) = repo(env).list_conversations()
    before = data_files(env)
    data = Path(env["CHATAPP_DATA_DIR"])
    commands = {
        ("history",): 0,
        ("history", "--search", "stored"): 0,
        ("show", summary.id): 0,
        ("ask", "Still answering?"): 0,
        ("ask", "--continue", "And now?"): 0,
        ("ask", "--json", "In JSON?"): 0,
        ("regenerate",): 0,
        ("models",): 0,
        ("config", "show"): 0,
        ("config", "path"): 0,
        ("rm", summary.id): 1,
        ("show", "nope"): 1,
    }
    with read_only(data):
        results = {args: run(env, *args) for args in commands}
    for args, result in results.items():
        assert "Traceback" not in result.stdout + result.stderr, args
        assert result.returncode == commands[args], (args, result.stderr)
    assert "Stored before" in results[("history",)].stdout
    assert results[("history",)].stderr == ""  # reading says nothing about saving
    assert results[("ask", "Still answering?")].stdout == "You said: Still answering?\n"
    assert results[("ask", "Still answering?")].stderr == (
        "chatapp: not saving: data folder is read-only\n"
    )
    assert json.loads(results[("ask", "--json", "In JSON?")].stdout)["text"] == (
        "You said: In JSON?"
    )
    assert one_line(results[("rm", summary.id)]).endswith("Read-only file system")
    assert data_files(env) == before


# -- damaged files -------------------------------------------------------------------------


def test_a_damaged_conversation_is_named_once_and_continue_says_what_it_continues(
    env, scripted_server
) -> None:
    configure(env, scripted_server.config())
    assert run(env, "ask", "First conversation").returncode == 0
    assert run(env, "ask", "Second conversation").returncode == 0
    newest = repo(env).list_conversations()[0]
    path = Path(env["CHATAPP_DATA_DIR"]) / "users/tester/conversations" / f"{newest.id}.json"
    path.write_bytes(path.read_bytes()[:40])

    first = run(env, "history")
    assert first.returncode == 0
    assert "First conversation" in first.stdout and "Second" not in first.stdout
    assert newest.id in one_line(first) and "moved aside" in first.stderr
    again = run(env, "history")
    assert again.stderr == "" and "First conversation" in again.stdout

    # Listing moved it aside already; continuing still says the last one is lost.
    going_on = run(env, "ask", "--continue", "Go on")
    assert going_on.returncode == 0 and going_on.stdout == "You said: Go on\n"
    line = one_line(going_on)
    assert "the last conversation is damaged" in line and newest.id in line
    assert "continuing 'First conversation'" in line
    # Now the conversation just continued is the last one: nothing more to say.
    quiet = run(env, "ask", "--continue", "And on")
    assert quiet.returncode == 0 and quiet.stderr == ""
    _, messages = repo(env).load(repo(env).list_conversations()[0].id)
    assert [m.content for m in messages if m.role == "user"] == [
        "First conversation",
        "Go on",
        "And on",
    ]


def test_a_damaged_index_is_rebuilt(env, scripted_server) -> None:
    configure(env, scripted_server.config())
    assert run(env, "ask", "Listed again").returncode == 0
    assert run(env, "history").returncode == 0
    index = Path(env["CHATAPP_DATA_DIR"]) / "users/tester/index.json"
    index.write_text("{not json")
    result = run(env, "history")
    assert result.returncode == 0 and "Listed again" in result.stdout
    assert "Traceback" not in result.stderr


# -- a full disk ---------------------------------------------------------------------------


def test_ask_on_a_full_disk_answers_without_saving(env, scripted_server) -> None:
    configure(env, scripted_server.config())
    data = Path(env["CHATAPP_DATA_DIR"])
    with full_disk(data):
        assert run(env, "ask", "Kept before").returncode == 0
        before = data_files(env)
        fill(data)
        result = run(env, "ask", "On a full disk?")
        assert result.returncode == 0
        assert result.stdout == "You said: On a full disk?\n"
        assert one_line(result) == "chatapp: not saving: disk is full"
        assert {k: v for k, v in data_files(env).items() if k != ".ballast"} == before


# -- model output on the terminal -----------------------------------------------------------


def test_ask_and_show_remove_terminal_escapes_unless_raw(env, scripted_server) -> None:
    model = scripted_server.config({"Be nasty": [NASTY_REPLY]})
    configure(env, model)
    cleaned = run(env, "ask", "Be nasty")
    assert cleaned.returncode == 0
    assert cleaned.stdout == "Hello world  done\n"
    raw = run(env, "ask", "--raw", "Be nasty")
    assert raw.stdout == NASTY_REPLY + "\n"
    as_json = run(env, "ask", "--json", "Be nasty")
    assert "\x1b" not in as_json.stdout and json.loads(as_json.stdout)["text"] == NASTY_REPLY

    conversation_id = json.loads(as_json.stdout)["conversation_id"]
    shown = run(env, "show", conversation_id)
    assert "\x1b" not in shown.stdout and "\x9b" not in shown.stdout
    assert "Hello world  done" in shown.stdout
    assert ESCAPES in run(env, "show", "--raw", conversation_id).stdout


# -- --json when the reply fails -------------------------------------------------------------


def test_json_when_the_stream_drops_is_one_object_with_the_error(env, fault_server) -> None:
    configure(env, fault_server.config("drop"))
    env[KEY_ENV] = SECRET_KEY
    result = run(env, "ask", "--json", "Will it drop?")
    assert result.returncode == 1
    answer = json.loads(result.stdout)
    assert answer["error"]["type"] == "StreamDropped"
    assert answer["error"]["message"] in one_line(result)
    assert answer["text"]  # what arrived before the drop
    assert answer["conversation_id"] and answer["message_id"]
    _, messages = repo(env).load(answer["conversation_id"])
    assert [m.content for m in messages][0] == "Will it drop?"


# -- the prompt is longer than the window ----------------------------------------------------


def small_window(n_ctx: int = 512) -> ModelConfig:
    from chatapp.config import embedded_model

    return replace(embedded_model(), n_ctx=n_ctx)


def test_a_prompt_over_the_window_is_one_line_with_the_numbers(env) -> None:
    configure(env, small_window())
    text = "word " * 2000
    result = run(env, "ask", "--max-tokens", "64", "Summarise:", stdin=text)
    assert result.returncode == 1
    line = one_line(result)
    assert "the prompt is too long" in line and "512" in line and "448 fit" in line
    assert "--max-tokens" in line and "--truncate" in line
    assert repo(env).list_conversations() == []


def test_truncate_keeps_head_and_tail_and_says_how_much_was_cut(env) -> None:
    configure(env, small_window())
    text = "START " + "filler words here " * 600 + " END"
    result = run(env, "ask", "--truncate", "--max-tokens", "8", "Summarise:", stdin=text)
    assert result.returncode == 0, result.stderr
    line = one_line(result)
    assert line.startswith("chatapp: --truncate cut ") and f"of {len(text):,} characters" in line
    (summary,) = repo(env).list_conversations()
    _, messages = repo(env).load(summary.id)
    question = messages[0].content
    assert question.startswith("Summarise:\n\nSTART ") and question.endswith(" END")
    assert "characters cut by chatapp --truncate" in question


def test_truncate_without_piped_input_is_a_usage_error(env) -> None:
    result = run(env, "ask", "--truncate", "hello")
    assert result.returncode == 2 and "nothing was piped" in one_line(result)


# -- model files ------------------------------------------------------------------------------


def test_ask_with_a_text_file_named_gguf_is_one_line_and_stores_nothing(env, tmp_path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_text("hello, I am not a model\n")
    configure(env, replace(small_window(), name="fake", path=fake))
    result = run(env, "ask", "Are you there?")
    assert result.returncode == 1
    assert "not a GGUF file" in one_line(result)
    assert repo(env).list_conversations() == []
    missing = replace(small_window(), name="gone", path=tmp_path / "no.gguf")
    configure(env, missing)
    assert "no.gguf" in one_line(run(env, "ask", "Hello?"))


# -- empty input and internal errors ----------------------------------------------------------


def test_input_of_only_invisible_characters_is_empty(env) -> None:
    result = run(env, "ask", "\u200b\u200b \u2060")
    assert result.returncode == 2 and "nothing to ask" in one_line(result)
    assert repo(env).list_conversations() == []


def test_an_internal_error_is_one_line_and_its_traceback_goes_to_a_private_file(env) -> None:
    program = (
        "import sys, chatapp.cli as cli\n"
        "@cli.app.command()\n"
        "def boom() -> None:\n"
        "    raise RuntimeError('the wires are crossed')\n"
        "sys.argv = ['chatapp', *sys.argv[1:]]\n"
        "cli.main()\n"
    )

    def boom(*flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", program, *flags, "boom"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    result = boom()
    assert result.returncode == 1
    line = one_line(result)
    assert "internal error: RuntimeError: the wires are crossed" in line
    assert "`chatapp --debug ...` shows the traceback" in line
    log = Path(line.rsplit("written to ", 1)[1].rstrip(")"))
    assert log.parent == Path(env["CHATAPP_DATA_DIR"]) / "logs"
    assert log.stat().st_mode & 0o777 == 0o600
    assert "Traceback" in log.read_text() and "the wires are crossed" in log.read_text()

    debug = boom("--debug")
    assert debug.returncode == 1 and "Traceback" in debug.stderr


# -- what the review found ---------------------------------------------------------------------


def test_a_closed_pipe_is_quiet(env, scripted_server) -> None:
    configure(env, scripted_server.config())
    for number in range(3):
        assert run(env, "ask", f"Question {number}").returncode == 0
    result = subprocess.run(
        f"{sys.executable} -m chatapp history | head -1",
        shell=True, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.stdout.count("\n") == 1 and "Question 2" in result.stdout
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert not (Path(env["CHATAPP_DATA_DIR"]) / "logs").exists()


def test_truncate_keeps_some_of_a_chinese_input_far_over_the_window(env) -> None:
    configure(env, small_window(256))
    text = "开头。" + "这是一段很长的中文文本，用来测试截断。" * 200 + "结尾。"
    result = run(env, "ask", "--truncate", "--max-tokens", "32", "总结：", stdin=text)
    assert result.returncode == 0, result.stderr
    (summary,) = repo(env).list_conversations()
    _, messages = repo(env).load(summary.id)
    question = messages[0].content
    assert question.startswith("总结：\n\n开头。") and question.endswith("结尾。")


def test_piped_bytes_that_are_not_utf8_are_a_usage_error(env) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chatapp", "ask", "what is this?"],
        env=env, input=b"\x89PNG\r\n\x1a\n\xff\xfe", capture_output=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert b"piped input is not UTF-8 text (byte 0 is 0x89)" in result.stderr
    assert b"Traceback" not in result.stderr


def test_a_servers_error_text_cannot_drive_the_terminal(env, fault_server) -> None:
    configure(env, fault_server.config("server-error-escapes"))
    env[KEY_ENV] = SECRET_KEY
    result = run(env, "ask", "hi")
    assert result.returncode == 1
    assert "out of memory" in one_line(result)
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    models = run(env, "models")
    assert "\x1b" not in models.stdout


def test_continue_with_only_a_damaged_conversation_is_one_line(env, scripted_server) -> None:
    configure(env, scripted_server.config())
    assert run(env, "ask", "The only one").returncode == 0
    (summary,) = repo(env).list_conversations()
    path = Path(env["CHATAPP_DATA_DIR"]) / "users/tester/conversations" / f"{summary.id}.json"
    path.write_text("{")
    assert run(env, "history").returncode == 0  # moves it aside
    result = run(env, "ask", "--json", "--continue", "Go on")
    assert result.returncode == 1
    line = one_line(result)
    assert "there is no conversation to continue: the last one is damaged" in line
    assert json.loads(result.stdout)["error"]["type"] == "SessionError"


def test_json_on_ctrl_c_is_one_object_with_what_arrived(env, scripted_server) -> None:
    import signal
    import time

    model = scripted_server.config({"Count": [" ".join(map(str, range(400)))]}, delay=0.02)
    configure(env, model)
    process = subprocess.Popen(
        [sys.executable, "-m", "chatapp", "ask", "--json", "Count"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(3)  # the reply is streaming (400 words take 8 s)
    process.send_signal(signal.SIGINT)
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 130
    answer = json.loads(stdout)
    assert answer["error"] == {"type": "Interrupted", "message": "stopped by Ctrl-C"}
    assert answer["text"].startswith("0 1 2 3") and "399" not in answer["text"]
    _, messages = repo(env).load(answer["conversation_id"])
    assert messages[-1].content == answer["text"]  # the partial reply is kept


def test_a_disk_that_fills_between_the_check_and_the_question_answers_unsaved(
    env, scripted_server
) -> None:
    configure(env, scripted_server.config())
    data = Path(env["CHATAPP_DATA_DIR"])
    with full_disk(data):
        assert run(env, "ask", "Kept before").returncode == 0
        before = data_files(env)
        fill(data)
        # One block free: the start-up check passes, the conversation's writes do not.
        ballast = data / ".ballast"
        with ballast.open("r+b") as handle:
            handle.truncate(ballast.stat().st_size - 4096)
        # A question bigger than the block left: its conversation cannot be written.
        long_question = "Almost full? " + "x" * 6000
        result = run(env, "ask", long_question)
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"You said: {long_question}\n"
        assert one_line(result) == "chatapp: not saving: disk is full"
        # Only an empty lock file is new: no conversation, not even an empty one.
        new = set(data_files(env)) - set(before) - {".ballast"}
        assert all(name.endswith(".lock") for name in new), new
        assert {k: v for k, v in data_files(env).items() if k in before} == before
        assert "Almost full?" not in run(env, "history").stdout  # no empty conversation
