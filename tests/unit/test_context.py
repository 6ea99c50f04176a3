"""The context builder fits system + history into the window, oldest turns dropped first."""

from __future__ import annotations

import pytest

from chatapp.core.backends.base import ContextOverflow
from chatapp.core.context import build_prompt, estimate_tokens
from chatapp.core.models import Message, Role


def turns(count: int, size: int = 400) -> list[Message]:
    history = []
    parent = None
    for number in range(count):
        role = Role.USER if number % 2 == 0 else Role.ASSISTANT
        message = Message("c1", role, f"turn {number} " + "x" * size, parent_id=parent)
        history.append(message)
        parent = message.id
    return history


def test_everything_fits_in_a_roomy_window() -> None:
    prompt = build_prompt(turns(4), system="Be brief.", n_ctx=8192, max_tokens=512)
    assert prompt.dropped == 0
    assert [m["role"] for m in prompt.messages] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
    ]
    assert prompt.messages[0]["content"] == "Be brief."
    assert not prompt.exact


def test_oldest_turns_are_dropped_first_and_reported() -> None:
    history = turns(21)
    prompt = build_prompt(history, system="sys", n_ctx=1200, max_tokens=200)
    assert prompt.dropped > 0
    assert prompt.prompt_tokens <= 1000
    # The newest question is always kept, the system prompt stays first.
    assert prompt.messages[-1]["content"] == history[-1].content
    assert prompt.messages[0]["content"] == "sys"
    # The kept history starts on a user turn.
    assert prompt.messages[1]["role"] == "user"
    kept = [m["content"] for m in prompt.messages[1:]]
    assert kept == [m.content for m in history[prompt.dropped :]]


def test_the_backends_tokenizer_is_used_when_it_has_one() -> None:
    calls = []

    def count(messages):  # a real tokenizer's role: a count of the rendered prompt
        calls.append(len(messages))
        return 10 * len(messages)

    prompt = build_prompt(turns(3), system=None, n_ctx=100, max_tokens=50, count_tokens=count)
    assert prompt.exact
    assert prompt.prompt_tokens == 10 * len(prompt.messages)
    assert calls


def test_a_question_larger_than_the_window_is_a_clear_error() -> None:
    question = Message("c1", Role.USER, "word " * 4000)
    with pytest.raises(ContextOverflow, match="too long"):
        build_prompt([question], system=None, n_ctx=512, max_tokens=128)


def test_prefix_is_stable_while_history_grows() -> None:
    history = turns(6)
    before = build_prompt(history[:4], system="s", n_ctx=8192, max_tokens=256).messages
    after = build_prompt(history, system="s", n_ctx=8192, max_tokens=256).messages
    assert after[: len(before)] == before


def test_estimate_grows_with_text() -> None:
    assert estimate_tokens([{"role": "user", "content": "a" * 400}]) > estimate_tokens(
        [{"role": "user", "content": "a"}]
    )
