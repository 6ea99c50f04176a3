"""Short conversation titles written by the model, with a plain fallback."""

from __future__ import annotations

import asyncio
import re

from chatapp.core.backends.base import Backend, BackendError, ChatMessage, GenerationParams
from chatapp.core.session import TITLE_LENGTH, plain_title

TITLE_PROMPT = (
    "Write a title of at most six words for this conversation. "
    "Reply with the title only, no quotes.\n\nUser: {question}\n\nAssistant: {answer}"
)
TITLE_PARAMS = GenerationParams(max_tokens=16, temperature=0.0)
TITLE_TIMEOUT = 10.0


def clean_title(raw: str) -> str | None:
    """The model's first line, unquoted and unlabelled, or None if it is unusable."""
    line = next((part.strip() for part in raw.splitlines() if part.strip()), "")
    line = re.sub(r"^(title\s*:\s*)", "", line, flags=re.IGNORECASE)
    line = line.strip(" \"'`*#.").strip()
    if not line or len(line) > TITLE_LENGTH * 2:
        return None
    return line if len(line) <= TITLE_LENGTH else plain_title(line)


async def generate_title(backend: Backend, question: str, answer: str) -> str:
    """Ask the model for a title; fall back to the question's first line."""
    prompt: list[ChatMessage] = [
        {
            "role": "user",
            "content": TITLE_PROMPT.format(question=question[:1000], answer=answer[:1000]),
        }
    ]
    parts: list[str] = []

    async def collect() -> None:
        async for chunk in backend.stream(prompt, TITLE_PARAMS):
            parts.append(chunk.text)

    try:
        await asyncio.wait_for(collect(), TITLE_TIMEOUT)
    except (BackendError, TimeoutError):
        return plain_title(question)
    return clean_title("".join(parts)) or plain_title(question)
