"""The model-based part of the memory extractor: a model lists the facts a user states
in a message as JSON, and a fact becomes a Candidate only when it is grounded, each of its
key words found in the user's own words (extract.visible_text)."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from chatapp.core.backends.base import Backend, BackendError, ChatMessage, GenerationParams
from chatapp.core.generation import Generation
from chatapp.core.memory.candidate import CJK, CJK_CHAR, KINDS, LATIN, Candidate, unique, words
from chatapp.core.memory.extract import MAX_MESSAGE_CHARS, visible_text
from chatapp.core.memory.slots import SLOTS

log = logging.getLogger(__name__)

_MODEL_SYSTEM = (
    "You read one message a user wrote and list the durable facts the user states about "
    "themselves in it. Answer with a JSON array only, one object per fact: "
    '{"fact": "<short phrase about the user>", "slot": "<kind>"}, where kind is one of '
    "name, preferred_name, location, hometown, language, employer, job, diet, pronouns, "
    "timezone, birthday, likes, dislikes, speaks, programming, or null. "
    "Questions, other people, moods of the moment, plans and hypotheticals state no fact: "
    "answer [] for them."
)
# One message with facts and one without, so that even a small model sees both answers.
_MODEL_EXAMPLES: list[ChatMessage] = [
    {"role": "user", "content": "I'm Sam and I live in Oslo. What should I wear for a run?"},
    {
        "role": "assistant",
        "content": '[{"fact": "Is named Sam", "slot": "name"}, '
        '{"fact": "Lives in Oslo", "slot": "location"}]',
    },
    {"role": "user", "content": "My brother is a doctor and I'm tired."},
    {"role": "assistant", "content": "[]"},
]
_MODEL_PARAMS = GenerationParams(max_tokens=256, temperature=0.0)
MAX_MODEL_FACTS = 8
MAX_FACT_CHARS = 120


def extraction_messages(message: str) -> list[ChatMessage]:
    """The prompt ModelExtractor sends for message: instructions, two examples, then the
    user's own words (code and quotes left out) as the last user message."""
    words = " ".join(visible_text(message).split())
    return [
        {"role": "system", "content": _MODEL_SYSTEM},
        *_MODEL_EXAMPLES,
        {"role": "user", "content": words},
    ]


class ModelExtractor:
    """The optional model-based extractor, for models capable enough (off for the embedded
    135M model). The model proposes facts as JSON; only facts whose key words all appear
    in the message are kept, so a fact the model made up is never proposed. Failures of
    the backend or of the JSON are logged and yield no candidates."""

    def __init__(self, backend: Backend, params: GenerationParams = _MODEL_PARAMS) -> None:
        self.backend = backend
        self.params = params

    async def extract(self, message: str) -> list[Candidate]:
        text = visible_text(message)
        if len(message) > MAX_MESSAGE_CHARS or not text.strip():
            return []
        try:
            reply = await Generation(self.backend, extraction_messages(message), self.params).wait()
        except BackendError as error:
            log.warning("the memory extractor's model failed: %s", error)
            return []
        items = first_json_array(reply)
        if items is None:
            log.warning("the memory extractor's model gave no JSON array: %.200r", reply)
            return []
        found = [grounded(item, text) for item in items[:MAX_MODEL_FACTS]]
        return unique([candidate for candidate in found if candidate is not None])


def first_json_array(reply: str) -> list[Any] | None:
    """The first JSON array in a model's reply (inside prose or a code fence), or None."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\[", reply):
        try:
            value, _ = decoder.raw_decode(reply, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, list):
            return value
    return None


_FACT_WORD = re.compile(rf"[{LATIN}0-9][{LATIN}0-9+#'’./-]*|[{CJK}]+")
# Words of a fact that say what kind of fact it is, not what the user said.
_GENERIC_WORDS = words(
    """i user user's the a an is are am was be been named name called call calls prefers
    prefer preferred to lives live living in at for from of on with works work working as
    speaks speak speaking native language likes like loves love enjoys enjoy dislikes
    dislike hates hate does doesn't not don't eat eats drink drinks allergic uses use
    pronouns pronoun time zone timezone their his her they he she and or based job
    employer diet location hometown favorite favourite fact slot codes code programs
    program writes write replies answers has have birthday born grew up
    originally comes come moved speaker fluent mother tongue first"""
)
_ZH_GENERIC = re.compile(
    r"用户|名字|名叫|叫作|叫做|叫|是|住在|住|在|来自|不喜欢|喜欢|讨厌|工作|上班|会说|说|母语|的|一名"
    r"|一个|一位|对|过敏|不吃|吃|不喝|时区|代词|希望|被|称为|职业|生活|他们|他|她|最|很|非常|编程|用"
)


def grounded(item: object, text: str) -> Candidate | None:
    """A candidate of one item of the model's answer, or None when it is malformed or
    any of its key words is not in the message's text."""
    if not isinstance(item, dict) or not isinstance(item.get("fact"), str):
        return None
    fact = " ".join(item["fact"].split())
    if not fact or len(fact) > MAX_FACT_CHARS:
        return None
    spans = [_find(word, text) for word in _key_words(fact)]
    if not spans or any(span is None for span in spans):
        return None
    found = [span for span in spans if span is not None]
    start, end = min(s for s, _ in found), max(e for _, e in found)
    if end - start > 60:
        start, end = found[0]
    kind = item.get("slot")
    kind = kind if isinstance(kind, str) and kind in KINDS else ""
    slot = kind if kind in SLOTS else None
    return Candidate(fact, slot, text[start:end], (start, end), kind)


def _key_words(fact: str) -> list[str]:
    keys: list[str] = []
    for word in _FACT_WORD.findall(fact):
        if CJK_CHAR.match(word):
            keys += [part for part in _ZH_GENERIC.split(word) if part]
        else:
            word = word.strip(".'’-").casefold()
            if word and word not in _GENERIC_WORDS:
                keys.append(word)
    return keys


def _find(word: str, text: str) -> tuple[int, int] | None:
    """Where word is in text: whole Chinese words, Latin words at a word's start (their
    stem when long: "vegetarians" grounds "vegetarian")."""
    if CJK_CHAR.match(word):
        position = text.find(word)
        return (position, position + len(word)) if position >= 0 else None
    stem = word if len(word) <= 5 else word[: len(word) - 2]
    ending = r"(?![\w])" if len(word) <= 3 else ""
    match = re.search(rf"(?<![\w]){re.escape(stem)}{ending}", text, re.IGNORECASE)
    if match is None:
        return None
    whole = re.compile(r"[\w+#'’-]*").match(text, match.end())
    return match.start(), whole.end() if whole else match.end()
