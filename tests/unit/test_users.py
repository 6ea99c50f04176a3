"""Users: named profiles whose data never mix, chosen with --user, CHATAPP_USER or the
config's default_user, as a user runs the command."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_cli import run
from tests.unit.test_cli_failures import configure, one_line


def test_each_user_sees_only_their_own_conversations(env, scripted_server) -> None:
    configure(env, scripted_server.config())
    del env["CHATAPP_USER"]
    assert run(env, "ask", "--user", "alice", "Alice's secret plan").returncode == 0
    assert run(env, "ask", "-u", "bob", "Bob's question").returncode == 0
    assert run(env, "ask", "-u", "bob", "Bob again").returncode == 0

    alice = run(env, "history", "--user", "alice").stdout
    bob = run(env, "history", "--user", "bob").stdout
    assert "Alice's secret plan" in alice and "Bob" not in alice
    assert "Bob's question" in bob and "Alice" not in bob
    alice_id = alice.split()[0]
    assert run(env, "show", "-u", "bob", alice_id).returncode == 1
    assert run(env, "ask", "-u", "bob", "--continue", "go on").stdout.startswith("You said")
    assert "go on" not in run(env, "show", "-u", "alice", alice_id).stdout

    assert run(env, "memory", "add", "-u", "bob", "I live in Oslo").returncode == 0
    listed = run(env, "users").stdout.splitlines()
    assert [line.split()[:5] for line in listed] == [
        ["alice", "1", "conversation,", "0", "memories"],
        ["bob", "2", "conversations,", "1", "memory"],
    ]
    assert "Oslo" not in run(env, "memory", "list", "-u", "alice").stdout


def test_default_user_in_the_config_and_the_environment(env, scripted_server) -> None:
    configure(env, scripted_server.config())
    config = Path(env["CHATAPP_CONFIG"])
    config.write_text('default_user = "carol"\n' + config.read_text())
    del env["CHATAPP_USER"]
    assert run(env, "ask", "From the config").returncode == 0
    assert "From the config" in run(env, "history", "-u", "carol").stdout
    env["CHATAPP_USER"] = "dave"
    assert run(env, "ask", "From the environment").returncode == 0
    assert "From the environment" in run(env, "history", "-u", "dave").stdout
    assert run(env, "users").stdout.splitlines()[1].startswith("* dave")


def test_a_user_name_that_is_no_safe_folder_name_is_one_line_and_exit_2(env) -> None:
    for name in ("../etc", ".hidden", "a/b", ""):
        result = run(env, "history", "--user", name)
        assert result.returncode == 2, (name, result.stderr)
        assert "invalid user name" in one_line(result)
    assert not (Path(env["CHATAPP_DATA_DIR"]) / "etc").exists()
