"""Short conversation titles written by the model, with a plain fallback."""

from __future__ import annotations

import asyncio
import re

from chatapp.core.backends.base import Backend, BackendError, ChatMessage, GenerationParams
from chatapp.core.generation import Generation

# Of the prompts tried on SmolLM2-135M, this one gave the most usable titles; small models
# still often answer the question instead, which clean_title() rejects.
TITLE_PROMPT = (
    "Give a short title (3 to 6 words) for a chat that starts with this question:"
    "\n\n{question}\n\nTitle:"
)
MAX_WORDS = 6
_ANSWER = re.compile(r"\b(is|are|was|were|will|can|does|do)\b", re.IGNORECASE)
TITLE_PARAMS = GenerationParams(max_tokens=16, temperature=0.0)
TITLE_TIMEOUT = 10.0
TITLE_LENGTH = 48


def plain_title(text: str) -> str:
    """A fallback title: the first line of the first message, shortened on a word."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "New chat")
    if len(line) <= TITLE_LENGTH:
        return line
    return line[:TITLE_LENGTH].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


def clean_title(raw: str, question: str) -> str | None:
    """The model's title if it looks like one: a few words, about the question."""
    line = next((part.strip() for part in raw.splitlines() if part.strip()), "")
    line = re.sub(r"^title\s*:\s*", "", line, flags=re.IGNORECASE)
    head, colon, _ = line.partition(":")
    if colon and len(head.split()) >= 2:
        line = head
    line = line.strip(" \"'`*#.").strip()
    words = line.split()
    if not 1 <= len(words) <= MAX_WORDS or not _shares_a_word(line, question):
        return None
    if _ANSWER.search(line):
        return None  # "The capital of France is Paris" answers the question; it is no title
    return line if len(line) <= TITLE_LENGTH else plain_title(line)


def _shares_a_word(title: str, question: str) -> bool:
    def content_words(text: str) -> set[str]:
        return {w for w in re.findall(r"\w+", text.casefold()) if len(w) >= 3}

    return bool(content_words(title) & content_words(question))


async def generate_title(backend: Backend, question: str) -> str:
    """Ask the model for a title; fall back to the question's first line."""
    if len(question.split()) <= MAX_WORDS and "\n" not in question.strip():
        return plain_title(question)  # a short question is its own best title
    prompt: list[ChatMessage] = [
        {
            "role": "user",
            "content": TITLE_PROMPT.format(question=question[:1000]),
        }
    ]
    generation = Generation(backend, prompt, TITLE_PARAMS)
    try:
        raw = await asyncio.wait_for(generation.wait(), TITLE_TIMEOUT)
    except (BackendError, TimeoutError):
        return plain_title(question)
    return clean_title(raw, question) or plain_title(question)
