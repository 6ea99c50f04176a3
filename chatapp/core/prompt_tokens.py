"""Counting a prompt's tokens a message at a time, each message once.

A backend with a tokenizer counts a whole prompt: chat template, then tokenizer. That
costs about a millisecond a message with the bundled model (190 ms for 200 messages),
and the context builder counted the whole conversation on every Enter, then some of it
again when old turns had to be left out. Chat templates write each message between
special tokens, which the tokenizer never merges across, so a prompt's count is what its
first message costs alone (with the template's own head and tail) plus what each
further message adds; those are counted once and kept.

Whether that holds is checked, not assumed: on first use a few short prompts (English,
Chinese, with and without a system message) are counted both ways, and a template for
which the sums differ (one that writes a message by its position, say) keeps being
counted whole.

    counts = counter_for(backend)       # one per backend, kept while it lives
    counts(messages)                    # int, or None when the backend cannot count
    counts.oldest_that_fits(head, body, budget)

A stored conversation is counted when it opens, off the event loop
(ChatSession.warm_token_counts), so its first Enter counts only the new message.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Protocol

from chatapp.core.backends.base import ChatMessage

TokenCounter = Callable[[list[ChatMessage]], "int | None"]

# A system message each further message is measured after: what [ANCHOR, m] adds to
# [ANCHOR] is what m adds to a prompt.
ANCHOR: ChatMessage = {"role": "system", "content": "."}
# Messages remembered; about 100 bytes each, a long day of chatting fits.
LIMIT = 20_000
_PROBES: tuple[list[ChatMessage], ...] = (
    [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is 2 + 2? 请用中文回答。"},
        {"role": "assistant", "content": "2 + 2 = 4。\n\n- 四"},
        {"role": "user", "content": "  And `3 * 3`?\n"},
    ],
    [
        {"role": "user", "content": "你好！Hello."},
        {"role": "assistant", "content": "Hi, 你好。"},
        {"role": "user", "content": "Bye"},
    ],
)


class Counting(Protocol):
    def count_tokens(self, messages: list[ChatMessage]) -> int | None: ...


class MessageTokens:
    """count(messages) from each message's share, counted once with count_whole.

    Two threads may use one at once (a conversation counted in a worker thread as it
    opens while the event loop builds a prompt): each entry is a count that never
    changes, written in one dict assignment, so a race at worst counts a message twice.
    """

    def __init__(self, count_whole: TokenCounter, limit: int = LIMIT) -> None:
        self._count_whole = count_whole
        self._limit = limit
        self._first: dict[tuple[str, str], int | None] = {}
        self._added: dict[tuple[str, str], int | None] = {}
        self._anchor: int | None = None
        self._separable: bool | None = None

    @property
    def separable(self) -> bool:
        """Whether prompts count as the sums of their messages (checked on first use)."""
        if self._separable is None:
            self._separable = all(self._summed(p) == self._count_whole(p) for p in _PROBES)
        return self._separable

    def __call__(self, messages: list[ChatMessage]) -> int | None:
        if not messages or not self.separable:
            return self._count_whole(messages)
        return self._summed(messages)

    def known(self, messages: Sequence[ChatMessage]) -> int | None:
        """The count of a prompt whose every message was counted before (as the context
        builder counted the prompt it built), counting nothing now; None otherwise. The
        llama thread checks a prompt's size with it before generating, rather than
        rendering and tokenizing the whole prompt a second time."""
        if not messages or self._separable is not True:
            return None
        total = self._first.get(_key(messages[0]))
        for message in messages[1:]:
            added = self._added.get(_key(message))
            if total is None or added is None:
                return None
            total += added
        return total

    def oldest_that_fits(
        self, head: list[ChatMessage], body: Sequence[ChatMessage], budget: int
    ) -> int | None:
        """The smallest start for which head + body[start:] counts at most budget,
        looking from the newest message back, so older messages are never counted;
        len(body) - 1 when even the newest alone is over, None when a count failed."""
        oldest, later = max(len(body) - 1, 0), 0  # later: what body[start + 1:] adds
        for start in range(len(body) - 1, -1, -1):
            alone = self._summed([*head, body[start]])
            added = self._share(self._added, body[start], self._added_by)
            if alone is None or added is None:
                return None
            if alone + later > budget:
                break
            oldest, later = start, later + added
        return oldest

    def _summed(self, messages: Sequence[ChatMessage]) -> int | None:
        total = self._share(self._first, messages[0], lambda m: self._count_whole([m]))
        for message in messages[1:]:
            added = self._share(self._added, message, self._added_by)
            if total is None or added is None:
                return None
            total += added
        return total

    def _added_by(self, message: ChatMessage) -> int | None:
        if self._anchor is None:
            self._anchor = self._count_whole([ANCHOR])
        both = self._count_whole([ANCHOR, message])
        if both is None or self._anchor is None:
            return None
        return both - self._anchor

    def _share(
        self,
        known: dict[tuple[str, str], int | None],
        message: ChatMessage,
        count: Callable[[ChatMessage], int | None],
    ) -> int | None:
        key = _key(message)
        try:
            return known[key]
        except KeyError:
            pass
        if len(known) >= self._limit:
            known.clear()  # start again rather than track the oldest
        counted = known[key] = count(message)
        return counted


def _key(message: ChatMessage) -> tuple[str, str]:
    return (message["role"], message["content"])


_counters: weakref.WeakKeyDictionary[Counting, MessageTokens] = weakref.WeakKeyDictionary()
# A conversation opening in a worker thread and the event loop may both ask first: without
# it each could make a counter, and the counts kept in one would be lost.
_counters_lock = threading.Lock()


def counter_for(backend: Counting) -> MessageTokens:
    """The backend's MessageTokens, made on first use and kept while the backend lives:
    every conversation on it shares the counts."""
    with _counters_lock:
        counter = _counters.get(backend)
        if counter is None:
            counter = _counters[backend] = MessageTokens(backend.count_tokens)
        return counter
