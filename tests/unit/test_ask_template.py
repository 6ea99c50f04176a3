"""`chatapp ask -t NAME` as a user runs it: the text fills the template's main variable,
--var the others, and the message records the template that made it."""

from __future__ import annotations

import json

from tests.unit.test_cli import repo, run
from tests.unit.test_cli_failures import one_line


def test_a_template_fills_from_the_question_and_vars_and_is_recorded(env) -> None:
    result = run(
        env, "ask", "-t", "translate", "--var", "target=Chinese", "--max-tokens", "8",
        "--json", "Good morning",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    conversation, messages = repo(env).load(reply["conversation_id"])
    question = messages[0]
    assert "Good morning" in question.content and "Chinese" in question.content
    assert question.template is not None
    assert question.template["name"] == "translate"
    assert question.template["variables"]["text"] == "Good morning"
    assert question.template["variables"]["target"] == "Chinese"
    # The template's system part is the conversation's system prompt.
    assert conversation.template == "translate" and conversation.settings["system"]
    # The sidebar's (and history's) filter finds conversations by template.
    assert run(env, "ask", "--max-tokens", "4", "plain question").returncode == 0
    by_template = run(env, "history", "--search", "template:transl").stdout
    assert reply["conversation_id"] in by_template and "plain question" not in by_template


def test_piped_text_fills_the_main_variable(env) -> None:
    result = run(env, "ask", "-t", "tldr", "--max-tokens", "8", "--json", stdin="今天下雨了。")
    assert result.returncode == 0, result.stderr
    _, messages = repo(env).load(json.loads(result.stdout)["conversation_id"])
    assert messages[0].template["variables"]["text"] == "今天下雨了。"


def test_missing_variables_are_one_error_naming_them_and_nothing_is_stored(env) -> None:
    result = run(env, "ask", "-t", "sql-from-question", "How many users signed up today?")
    assert result.returncode == 1
    assert "schema" in one_line(result)
    assert repo(env).list_conversations() == []


def test_an_unknown_template_or_a_bad_var_is_one_line(env) -> None:
    unknown = run(env, "ask", "-t", "tldrr", "hello")
    assert unknown.returncode == 1 and "did you mean 'tldr'" in one_line(unknown)
    bad = run(env, "ask", "-t", "tldr", "--var", "oops", "hello")
    assert bad.returncode == 2 and "--var takes key=value" in one_line(bad)
    twice = run(env, "ask", "-t", "tldr", "--var", "text=a", "b")
    assert twice.returncode == 2 and "not both" in one_line(twice)
