"""`chatapp templates ...` as a user runs it: list, render, check, new, import, history."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.unit.test_cli import run
from tests.unit.test_cli_failures import one_line
from tests.unit.test_templates import GOOD, write


def user_dir(env: dict[str, str]) -> Path:
    return Path(env["CHATAPP_CONFIG"]).parent / "prompts"


def test_list_shows_built_ins_by_tag_and_as_json(env) -> None:
    listed = run(env, "templates", "list")
    assert listed.returncode == 0 and listed.stderr == ""
    assert any(line.split()[0] == "summarize" for line in listed.stdout.splitlines())
    code = run(env, "templates", "list", "--tag", "code", "--json")
    names = [item["name"] for item in json.loads(code.stdout)]
    assert "explain-code" in names and "summarize" not in names


def test_render_fills_the_main_variable_from_text_or_stdin(env) -> None:
    given = run(env, "templates", "render", "summarize", "会议改到周五。", "--var", "length=一句话")
    assert given.returncode == 0, given.stderr
    assert given.stdout.endswith(
        "[user]\nSummarize the following text in 一句话.\n\n会议改到周五。\n"
    )
    piped = run(env, "templates", "render", "summarize", "--json", stdin="Line one.\nLine two.\n")
    rendered = json.loads(piped.stdout)
    assert rendered["user"].endswith("Line one.\nLine two.\n")
    assert rendered["variables"]["length"] == "three bullet points"


def test_render_without_its_input_is_one_line_naming_what_is_missing(env) -> None:
    result = run(env, "templates", "render", "summarize")
    assert result.returncode == 1
    assert one_line(result) == (
        "chatapp: template 'summarize' needs variable 'text' (The text to summarize): "
        "give it as TEXT or on stdin"
    )
    letter = GOOD.replace('default = "formal"', "required = true")
    write(user_dir(env), "letter", letter.replace("Friday.", 'Friday.", tone = "casual'))
    both = run(env, "templates", "render", "letter")
    assert one_line(both) == (
        "chatapp: template 'letter': missing variables: text, tone: "
        "give text as TEXT or on stdin, the others with --var NAME=VALUE"
    )
    assert one_line(run(env, "templates", "render", "nope", "x")) == (
        "chatapp: no template named 'nope'"
    )
    broken = write(user_dir(env), "broken", GOOD.replace("{{ text }}", "{{ texte }}"))
    assert one_line(run(env, "templates", "render", "broken", "x")) == (
        f"chatapp: template 'broken' has problems: {broken}:10: variable 'texte' is used in user "
        "but not declared ([variables.texte]) (and 1 more)"
    )


def test_check_says_ok_or_lists_problems_with_file_and_line(env) -> None:
    ok = run(env, "templates", "check")
    assert ok.returncode == 0 and ok.stdout.endswith(" templates ok\n"), ok.stdout
    broken = write(user_dir(env), "broken", GOOD.replace("{{ text }}", "{{ text }} {{ txt }}"))
    result = run(env, "templates", "check")
    assert result.returncode == 1
    assert result.stdout == (
        f"{broken}:10: variable 'txt' is used in user but not declared ([variables.txt])\n"
    )
    listed = run(env, "templates", "list")
    assert listed.returncode == 0 and f"chatapp: {broken}:10: variable 'txt'" in listed.stderr
    alone = run(env, "templates", "check", str(user_dir(env) / "missing.toml"))
    assert alone.returncode == 1 and "missing.toml:1: cannot read" in alone.stdout


def test_new_opens_the_editor_on_a_copy_then_lists_it_as_yours(env, tmp_path: Path) -> None:
    env = {key: value for key, value in env.items() if key not in ("EDITOR", "VISUAL")}
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys, pathlib\n"
        "path = pathlib.Path(sys.argv[1])\n"
        "path.write_text(path.read_text().replace('Summarize a text', 'Mine'))\n"
    )
    editing = {**env, "EDITOR": f"{sys.executable} {editor}"}
    created = run(editing, "templates", "new", "mine", "--from", "summarize")
    path = user_dir(env) / "mine.toml"
    assert created.returncode == 0 and created.stdout == f"created {path}\n", created.stderr
    listed = [line.split() for line in run(env, "templates", "list").stdout.splitlines()]
    assert ["mine", "Mine", "[writing,", "everyday]", "(yours)"] in listed
    assert run(env, "templates", "history", "mine").stdout.startswith("v1  ")

    plain = run(env, "templates", "new", "blank")
    assert (
        plain.stdout
        == f"created {user_dir(env) / 'blank.toml'} (set $EDITOR to open it from here)\n"
    )
    assert "exists already" in one_line(run(env, "templates", "new", "blank"))


def test_import_reports_skips_and_overwrite_keeps_history(env, tmp_path: Path) -> None:
    patterns = tmp_path / "patterns"
    (patterns / "clean_text").mkdir(parents=True)
    (patterns / "clean_text" / "system.md").write_text("# IDENTITY\n\nYou clean {{ text }}.\n")
    (patterns / "nothing").mkdir()
    first = run(env, "templates", "import", str(patterns))
    assert first.stdout == "imported 1, skipped 1\nnothing: no system.md\n"
    (patterns / "clean_text" / "system.md").write_text("You clean text gently.\n")
    again = run(env, "templates", "import", str(patterns), "--overwrite")
    assert again.stdout.startswith("imported 1, skipped 1\n")
    history = run(env, "templates", "history", "clean_text").stdout.splitlines()
    assert [line.split()[0] for line in history] == ["v1", "v2"] and "(current)" in history[1]
    diff = run(env, "templates", "diff", "clean_text", "v1", "2")
    assert diff.returncode == 0 and "+{% raw %}You clean text gently." in diff.stdout
    rendered = run(env, "templates", "render", "clean_text", "x", "--json").stdout
    assert json.loads(rendered)["system"] == "You clean text gently.\n"


def test_a_compare_choice_counts_in_each_templates_practice_record(env) -> None:
    compared = run(
        env, "compare", "-t", "tldr", "-t", "eli5", "--max-tokens", "6", "--choice", "A",
        "Rain is water falling from clouds.",
    )  # fmt: skip
    assert compared.returncode == 0, compared.stderr
    assert "── A ──" in compared.stdout and "── B ──" in compared.stdout
    revealed = dict(
        line.split(": ", 1) for line in compared.stdout.splitlines() if line[:3] in ("A: ", "B: ")
    )
    winner = revealed["A"].split(" · ")[0]
    loser = "eli5" if winner == "tldr" else "tldr"
    assert "1 won, 0 lost" in run(env, "templates", "history", winner).stdout
    assert "0 won, 1 lost" in run(env, "templates", "history", loser).stdout
    assert "not compared yet" in run(env, "templates", "history", "regex").stdout
