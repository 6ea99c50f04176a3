"""Build the prompt: system prompt (with the pinned memories) + as much recent history as
fits the token budget, the memories relevant to this turn beside the new message."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chatapp.core.backends.base import ChatMessage, ContextOverflow
from chatapp.core.models import Message, Role

TokenCounter = Callable[[list[ChatMessage]], "int | None"]


@dataclass(frozen=True, slots=True)
class MemoryNotes:
    """Memories for one prompt, already written as labelled blocks: `system` goes after
    the system prompt (pinned ones: the same every turn, so the KV cache holds), `turn`
    before the new user message (the ones relevant now). ids: every memory used."""

    system: str = ""
    turn: str = ""
    ids: tuple[str, ...] = ()


NO_MEMORY = MemoryNotes()


@dataclass(frozen=True, slots=True)
class BuiltPrompt:
    messages: list[ChatMessage]
    prompt_tokens: int
    # False when the backend has no tokenizer and prompt_tokens is an estimate.
    exact: bool
    # How many of the oldest history messages did not fit and were left out.
    dropped: int
    n_ctx: int
    max_tokens: int
    # The memories in it (their ids), for the reply to record.
    memory_ids: tuple[str, ...] = ()

    @property
    def budget(self) -> int:
        return self.n_ctx - self.max_tokens


def estimate_tokens(messages: list[ChatMessage]) -> int:
    """About four characters a token, plus the chat template's few tokens per message."""
    return sum(len(m["content"]) // 4 + 4 for m in messages)


def build_prompt(
    history: Sequence[Message],
    *,
    system: str | None,
    n_ctx: int,
    max_tokens: int,
    count_tokens: TokenCounter | None = None,
    memory: MemoryNotes = NO_MEMORY,
) -> BuiltPrompt:
    """Fit system + history into n_ctx - max_tokens, dropping the oldest turns first.

    The kept messages are the longest suffix of the history that fits, so the prompt
    prefix (system, then history in order) stays byte-stable from turn to turn and
    llama.cpp can reuse its KV cache.
    """
    system = "\n\n".join(part for part in (system, memory.system) if part) or None
    head: list[ChatMessage] = [{"role": "system", "content": system}] if system else []
    body: list[ChatMessage] = [
        {"role": str(m.role), "content": m.content} for m in history if m.role != Role.SYSTEM
    ]
    if memory.turn and body and body[-1]["role"] == "user":
        body[-1] = {"role": "user", "content": f"{memory.turn}\n\n{body[-1]['content']}"}
    budget = n_ctx - max_tokens

    def size(start: int) -> tuple[int, bool]:
        messages = head + body[start:]
        if count_tokens is not None:
            counted = count_tokens(messages)
            if counted is not None:
                return counted, True
        return estimate_tokens(messages), False

    tokens, exact = size(0)
    start = 0
    if tokens > budget:
        start = _first_start_that_fits(len(body), budget, size)
        # Start on a user turn so the model never sees a reply without its question.
        while start < len(body) - 1 and body[start]["role"] != "user":
            start += 1
        tokens, exact = size(start)
    if tokens > budget:
        raise ContextOverflow(tokens, n_ctx, max_tokens)
    return BuiltPrompt(head + body[start:], tokens, exact, start, n_ctx, max_tokens, memory.ids)


def _first_start_that_fits(
    length: int, budget: int, size: Callable[[int], tuple[int, bool]]
) -> int:
    """Binary search the smallest start index (keeping the last message) that fits."""
    low, high = 1, max(length - 1, 0)
    while low < high:
        middle = (low + high) // 2
        if size(middle)[0] <= budget:
            high = middle
        else:
            low = middle + 1
    return high


def chars_to_cut(overflow: ContextOverflow, prompt_chars: int) -> int:
    """About how many characters of a prompt of prompt_chars characters to cut for it to
    fit: the excess tokens at this prompt's own characters per token (so Chinese and code
    count right), plus a margin of a twentieth of the budget (at least 16 tokens)."""
    chars_per_token = prompt_chars / max(overflow.prompt_tokens, 1)
    tokens = overflow.prompt_tokens - overflow.budget + max(16, overflow.budget // 20)
    return int(tokens * chars_per_token) + 16


def cut_middle(text: str, cut: int, by: str) -> str:
    """text with cut characters taken out of its middle (two thirds of what is kept come
    from the head, one third from the tail) and a marker saying how many, and by whom."""
    if cut <= 0:
        return text
    keep = max(len(text) - cut, 0)
    tail_length = keep // 3
    head = text[: keep - tail_length]
    tail = text[len(text) - tail_length :] if tail_length else ""
    return f"{head}\n\n[… {cut:,} characters cut by {by} …]\n\n{tail}"
