"""Conversation titles: the model's when it gives a real title, else the first line."""

from __future__ import annotations

import pytest

from chatapp.config import embedded_model
from chatapp.core.backends.llama_local import LlamaBackend
from chatapp.core.titles import clean_title, generate_title, plain_title


@pytest.mark.parametrize(
    ("raw", "question", "title"),
    [
        (
            "Reverse a list in Python: [x]",
            "How do I reverse a list in Python?",
            "Reverse a list in Python",
        ),
        ('Title: "French capital facts"', "What is the capital of France?", "French capital facts"),
        ("Hi there, welcome to my little corner of the world.", "Hi there", None),
        ("Paris", "What is the capital of France?", None),
        ("The capital of France is Paris", "What is the capital of France?", None),
        ("", "anything", None),
    ],
)
def test_only_title_like_answers_about_the_question_are_kept(raw, question, title) -> None:
    assert clean_title(raw, question) == title


async def test_a_short_question_is_its_own_title() -> None:
    backend = LlamaBackend(embedded_model())
    assert await generate_title(backend, "What is a monad?") == "What is a monad?"
    assert not backend.loaded  # no model call was needed


def test_plain_title_is_the_first_line_shortened_on_a_word() -> None:
    assert plain_title("\n  Fix the build\nmore text") == "Fix the build"
    long = plain_title("word " * 30)
    assert long.endswith("…") and len(long) <= 49


async def test_the_embedded_model_names_a_conversation() -> None:
    backend = LlamaBackend(embedded_model())
    question = "How do I reverse a list in Python without copying it into a new one?"
    title = await generate_title(backend, question)
    assert title and "\n" not in title and len(title) <= 49
    assert title == plain_title(question) or clean_title(title, question) == title
