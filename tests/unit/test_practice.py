"""Practice runs: variants side by side, blind and shuffled, against real models."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from chatapp.config import embedded_model
from chatapp.core.backends.base import GenerationParams
from chatapp.core.backends.llama_local import LlamaBackend
from chatapp.core.backends.pool import make_backend
from chatapp.core.practice import PracticeError, PracticeRun, Variant, prompt_diff

SHORT = GenerationParams(max_tokens=16, temperature=0.0, seed=1)


def variants(model: str) -> list[Variant]:
    return [
        Variant(model, "Name a colour.", "Answer in one word.", SHORT, {"name": "a", "version": 1}),
        Variant(model, "Name a fruit.", "Answer in one word.", SHORT, {"name": "b", "version": 2}),
        Variant(model, "Name an animal.", None, SHORT),
    ]


async def test_remote_variants_stream_at_once_into_shuffled_blind_columns(llama_server) -> None:
    backend = make_backend(llama_server.config())
    try:
        run = PracticeRun(variants("llama-server"), lambda name: backend, rng=random.Random(3))
        run.start()
        await run.wait()
    finally:
        await backend.aclose()
    shown = [column.variant.user for column in run.columns]
    assert sorted(shown) == sorted(v.user for v in variants("x")) and run.letters == "ABC"
    assert all(column.shown.text.strip() for column in run.columns)
    assert all(column.shown.tokens_per_second for column in run.columns)
    assert not run.revealed
    choice = run.choose("preferred", "B")
    assert run.revealed and choice.shown_order == ("A", "B", "C") and choice.letter == "B"


async def test_variants_on_the_embedded_model_all_answer_each_sample() -> None:
    backend = LlamaBackend(replace(embedded_model(), n_ctx=1024))
    backend.load()
    sampled = GenerationParams(max_tokens=12, temperature=0.9)
    pair = [Variant("smollm2", "Say hi.", params=sampled), Variant("smollm2", "Say bye.")]
    run = PracticeRun(pair, lambda name: backend, repeats=3).start()
    await run.wait()
    for column in run.columns:
        assert len(column.samples) == 3
        assert all(sample.error is None and sample.text for sample in column.samples)
    run.choose("tie")
    assert run.choice is not None and run.choice.letter is None


def test_a_run_needs_two_to_four_variants_and_a_sane_repeat() -> None:
    one = variants("m")[:1]
    with pytest.raises(PracticeError, match="2 to 4 variants, not 1"):
        PracticeRun(one, lambda name: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(PracticeError, match="1 to 5 times, not 6"):
        PracticeRun(variants("m"), lambda name: None, repeats=6)  # type: ignore[arg-type,return-value]


def test_the_prompt_diff_is_by_word_and_by_chinese_character() -> None:
    runs = prompt_diff("Summarise this text briefly", "Summarise this article in detail")
    assert ("removed", "text") in runs and ("added", "article") in runs
    assert ("same", "Summarise this ") in runs
    chinese = prompt_diff("请总结这段文字", "请翻译这段文字")
    assert chinese == [
        ("same", "请"),
        ("removed", "总结"),
        ("added", "翻译"),
        ("same", "这段文字"),
    ]
