"""One request to a model server and its reply: who the request went to (ServerRef), and
what has arrived of the reply (ReplyProgress).

Shared by the framing and the HTTP backends; no httpx here, so the framing can use both
without importing it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from chatapp.core.backends.base import Usage


@dataclass(frozen=True, slots=True)
class ServerRef:
    """Who a request went to, as error messages name it."""

    url: str
    model: str | None = None
    key_env: str | None = None
    read_timeout: float | None = None
    connect_timeout: float | None = None
    secret: str | None = field(default=None, repr=False)

    def scrub(self, text: str) -> str:
        """Server text can echo the request back; the key must never reach the screen."""
        return text.replace(self.secret, "***") if self.secret else text


class ReplyProgress:
    """What has arrived of one streamed reply, so a failure midway can keep it."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.responded = False
        self.chunks = 0
        self.first_token_at: float | None = None
        self.last_token_at: float | None = None
        self._parts: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def add(self, text: str) -> None:
        now = time.perf_counter()
        if self.first_token_at is None:
            self.first_token_at = now
        self.last_token_at = now
        self.chunks += 1
        self._parts.append(text)

    def usage(
        self,
        prompt_tokens: int | None,
        completion_tokens: int | None,
        generation_seconds: float | None = None,
    ) -> Usage:
        """Usage with the server's counts where it sent them, else what was measured here."""
        first, last = self.first_token_at, self.last_token_at
        if generation_seconds is None and first is not None and last is not None:
            generation_seconds = last - first
        return Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=self.chunks if completion_tokens is None else completion_tokens,
            time_to_first_token=None if first is None else first - self.started,
            generation_seconds=generation_seconds,
        )
