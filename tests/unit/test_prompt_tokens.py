"""Counting prompts a message at a time gives the bundled model's own counts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace

import pytest

from chatapp.config import embedded_model
from chatapp.core.backends.base import ChatMessage
from chatapp.core.backends.llama_local import LlamaBackend
from chatapp.core.context import BuiltPrompt, build_prompt
from chatapp.core.models import Message, Role
from chatapp.core.prompt_tokens import MessageTokens

SYSTEM: ChatMessage = {"role": "system", "content": "You are a helpful assistant."}
TURNS: list[ChatMessage] = [
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris.\n\n- It is on the Seine.\n- 2.1 million people."},
    {"role": "user", "content": "我下周去北京出差，帮我列一个行李清单。"},
    {"role": "assistant", "content": "好的：\n1. 身份证\n2. 笔记本电脑 and charger\n3. 雨伞"},
    {"role": "user", "content": "  Mixed: 明天 at 9:00, ```code```\n\n"},
]


@pytest.fixture(scope="module")
def backend() -> Iterator[LlamaBackend]:
    model = LlamaBackend(replace(embedded_model(), n_ctx=2048))
    model.load()
    yield model
    asyncio.run(model.aclose())


@pytest.mark.parametrize("system", [True, False], ids=["with system", "without system"])
def test_sums_of_messages_equal_whole_counts(backend: LlamaBackend, system: bool) -> None:
    counts = MessageTokens(backend.count_tokens)
    head = [SYSTEM] if system else []

    for end in range(1, len(TURNS) + 1):
        prompt = head + TURNS[:end]
        assert counts(prompt) == backend.count_tokens(prompt), prompt

    assert counts.separable is True


def test_a_template_that_writes_messages_by_position_is_counted_whole() -> None:
    """A made-up counter whose total is not a sum of messages (a numbered list, say):
    the check on first use finds it out and every count is the whole one."""

    def numbered(messages: list[ChatMessage]) -> int:
        return sum((number + 1) * len(m["content"]) for number, m in enumerate(messages))

    counts = MessageTokens(numbered)
    prompt = [SYSTEM, *TURNS]

    assert counts.separable is False
    assert counts(prompt) == numbered(prompt)
    assert counts(prompt[:3]) == numbered(prompt[:3])


def test_a_backend_without_a_tokenizer_counts_nothing() -> None:
    counts = MessageTokens(lambda messages: None)

    assert counts([SYSTEM, *TURNS]) is None


def test_a_long_conversation_is_counted_once_per_message(backend: LlamaBackend) -> None:
    """200 messages, a prompt that must leave old turns out (several counts per build):
    after the first build, the next one with one more question tokenizes only what is
    new, and its count is still the model's own."""
    history = [
        Message(conversation_id="c", role=role, content=text)
        for number in range(100)
        for role, text in (
            (Role.USER, f"问题 {number}: tell me about topic {number}."),
            (Role.ASSISTANT, f"Answer {number}: " + "a fairly long reply, 有中文也有英文。 " * 4),
        )
    ]
    whole_counts: list[int] = []

    def tokenizer(messages: list[ChatMessage]) -> int:
        whole_counts.append(len(messages))
        return backend.count_tokens(messages)

    counts = MessageTokens(tokenizer)

    def build(question: str) -> BuiltPrompt:
        history.append(Message(conversation_id="c", role=Role.USER, content=question))
        built = build_prompt(
            history, system=SYSTEM["content"], n_ctx=2048, max_tokens=512, count_tokens=counts
        )
        history.append(Message(conversation_id="c", role=Role.ASSISTANT, content="Fine."))
        return built

    first = build("And now?")
    assert first.dropped > 0 and first.exact
    assert first.prompt_tokens == backend.count_tokens(first.messages) <= 2048 - 512
    # The same prompt as counting it whole would choose, without counting the old turns.
    whole = build_prompt(
        history[:-1],
        system=SYSTEM["content"],
        n_ctx=2048,
        max_tokens=512,
        count_tokens=backend.count_tokens,
    )
    assert (whole.messages, whole.prompt_tokens) == (first.messages, first.prompt_tokens)
    assert len(whole_counts) < len(history) // 2
    whole_counts.clear()

    second = build("再来一个问题？")

    assert second.prompt_tokens == backend.count_tokens(second.messages)
    # The new question, and the reply before it: each measured after the anchor.
    assert whole_counts == [2, 2]


def test_known_counts_only_what_was_counted(backend: LlamaBackend) -> None:
    counts = MessageTokens(backend.count_tokens)
    prompt = [SYSTEM, *TURNS]

    assert counts.known(prompt) is None  # nothing counted yet
    total = counts(prompt)
    assert counts.known(prompt) == total == backend.count_tokens(prompt)
    assert counts.known([*prompt, {"role": "user", "content": "新的问题"}]) is None


def test_generating_a_built_prompt_does_not_count_it_again(
    backend: LlamaBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The prompt the context builder counted goes to llama.cpp without being rendered and
    tokenized again on the llama thread (for a full window, ~15 ms before the first token);
    the reply's prompt_tokens is still the model's own count."""
    from chatapp.core.backends.base import GenerationParams
    from chatapp.core.backends.llama_file import LoadedLlama
    from chatapp.core.prompt_tokens import counter_for

    history = [
        Message(conversation_id="c", role=Role(m["role"]), content=m["content"]) for m in TURNS
    ]
    built = build_prompt(
        history, system=SYSTEM["content"], n_ctx=2048, max_tokens=8,
        count_tokens=counter_for(backend),
    )  # fmt: skip
    expected = backend.count_tokens(built.messages)
    recounted: list[int] = []
    count_whole = LoadedLlama.count_prompt_tokens

    def observed(self: LoadedLlama, messages: list[ChatMessage]) -> int:
        recounted.append(len(messages))
        return count_whole(self, messages)

    monkeypatch.setattr(LoadedLlama, "count_prompt_tokens", observed)

    async def reply() -> int | None:
        usage = None
        params = GenerationParams(max_tokens=8, temperature=0.0)
        async for chunk in backend.stream(built.messages, params):
            usage = chunk.usage or usage
        return usage.prompt_tokens if usage is not None else None

    prompt_tokens = asyncio.run(reply())

    assert recounted == []
    assert prompt_tokens == built.prompt_tokens == expected
