"""Build the prompt: system prompt (with the pinned memories) + as much recent history as
fits the token budget, the memories relevant to this turn beside the new message."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chatapp.core.backends.base import ChatMessage, ContextOverflow
from chatapp.core.models import Message, Role
from chatapp.core.prompt_tokens import MessageTokens
from chatapp.core.prompt_tokens import TokenCounter as TokenCounter  # where the UI imports it


@dataclass(frozen=True, slots=True)
class MemoryNotes:
    """Memories for one prompt, already written as labelled blocks: `system` goes after
    the system prompt (pinned ones: the same every turn, so the KV cache holds), `turn`
    before the new user message (relevant now, and not already noted earlier in the
    conversation). ids: every memory used; turn_ids: the ones written in `turn`.

    An earlier reply's note stays before its question, byte for byte, so the prompt
    prefix does not change from turn to turn; kept_notes names the replies whose notes
    still hold (their memories neither edited nor deleted since). Every other note is
    left out, so NO_MEMORY is a prompt without any memory at all."""

    system: str = ""
    turn: str = ""
    ids: tuple[str, ...] = ()
    turn_ids: tuple[str, ...] = ()
    kept_notes: frozenset[str] = frozenset()


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
    # The memories in it, for the reply to record.
    notes: MemoryNotes = NO_MEMORY

    @property
    def memory_ids(self) -> tuple[str, ...]:
        return self.notes.ids

    def notes_left_out(self, history: Sequence[Message]) -> list[str]:
        """The replies in history whose memory notes this prompt left out."""
        return [m.id for m in history if m.memory_note and m.id not in self.notes.kept_notes]

    @property
    def system(self) -> str | None:
        """The system message as sent (pinned memories included), if there is one."""
        first = self.messages[0] if self.messages else None
        return first["content"] if first is not None and first["role"] == "system" else None

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
    body = _with_notes(history, lambda reply: reply.id in memory.kept_notes, memory.turn)
    budget = n_ctx - max_tokens

    def size(start: int) -> tuple[int, bool]:
        messages = head + body[start:]
        if count_tokens is not None:
            counted = count_tokens(messages)
            if counted is not None:
                return counted, True
        return estimate_tokens(messages), False

    start, counted = None, None
    if isinstance(count_tokens, MessageTokens) and count_tokens.separable:
        # From the newest message back: the turns left out are never counted.
        start = count_tokens.oldest_that_fits(head, body, budget)
    if start is None:
        (tokens, exact), counted = size(0), 0
        start = 0 if tokens <= budget else _first_start_that_fits(len(body), budget, size)
    # Start on a user turn so the model never sees a reply without its question.
    while 0 < start < len(body) - 1 and body[start]["role"] != "user":
        start += 1
    if start != counted:
        tokens, exact = size(start)
    if tokens > budget:
        raise ContextOverflow(tokens, n_ctx, max_tokens)
    return BuiltPrompt(head + body[start:], tokens, exact, start, n_ctx, max_tokens, memory)


def context_seen(path: Sequence[Message]) -> list[ChatMessage]:
    """The messages the model saw for the reply that ends path (the thread from the root
    to that reply), rebuilt from what the reply recorded: its system prompt, the memory
    notes before each question, and the oldest messages that did not fit left out."""
    *history, reply = path
    head: list[ChatMessage] = (
        [{"role": "system", "content": reply.system_seen}] if reply.system_seen else []
    )
    left_out = set(reply.notes_left_out)
    body = _with_notes(history, lambda earlier: earlier.id not in left_out, reply.memory_note)
    return head + body[reply.history_dropped :]


def _with_notes(
    history: Sequence[Message], keeps: Callable[[Message], bool], new_note: str
) -> list[ChatMessage]:
    """history as chat messages, each question with the memory note its reply recorded
    (if keeps(reply)) and the last one with new_note."""
    body: list[ChatMessage] = []
    last = len(history) - 1
    for position, message in enumerate(history):
        if message.role == Role.SYSTEM:
            continue
        content = message.content
        if message.role == Role.USER:
            if position == last:
                note = new_note
            else:
                reply = history[position + 1]
                keep = reply.role == Role.ASSISTANT and keeps(reply)
                note = reply.memory_note if keep else ""
            if note:
                content = f"{note}\n\n{content}"
        body.append({"role": str(message.role), "content": content})
    return body


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
