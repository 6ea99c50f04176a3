"""The memory extractor proposes durable facts the user states about themselves, in
English, Chinese and the two mixed, and nothing from questions, hypotheticals, other
people's words, other people, negations, passing states, code or quotes."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatapp.core.backends import make_backend
from chatapp.core.memory.candidate import Candidate
from chatapp.core.memory.extract import MAX_MESSAGE_CHARS, extract
from chatapp.core.memory.model_extract import (
    ModelExtractor,
    extraction_messages,
    first_json_array,
)
from chatapp.core.memory.slots import SLOTS


def facts(message: str) -> set[tuple[str, str]]:
    return {(candidate.kind, candidate.value) for candidate in extract(message)}


POSITIVES = {
    # English
    "I'm vegetarian.": {("diet", "vegetarian")},
    "Hi, I'm Sam. Nice to meet you!": {("name", "Sam")},
    "please call me Sam": {("preferred_name", "Sam")},
    "My name is Priya Raman and I work as a nurse.": {
        ("name", "Priya Raman"),
        ("job", "nurse"),
    },
    "I work in Go.": {("programming", "Go")},
    "Also I code in Rust at work.": {("programming", "Rust")},
    "I mostly use Python for data work.": {("programming", "Python")},
    "I live in Berlin and commute by bike.": {("location", "Berlin")},
    "I'm originally from Lagos but I live in Toronto now.": {
        ("hometown", "Lagos"),
        ("location", "Toronto"),
    },
    "I'm based in Austin, TX.": {("location", "Austin")},
    "I speak Spanish and Portuguese.": {("speaks", "Spanish"), ("speaks", "Portuguese")},
    "My native language is Dutch.": {("speaks", "Dutch")},
    "I'm a software engineer at Shopify.": {
        ("job", "software engineer"),
        ("employer", "Shopify"),
    },
    "I work at the Mayo Clinic as a pharmacist.": {
        ("employer", "Mayo Clinic"),
        ("job", "pharmacist"),
    },
    "I don't eat pork.": {("diet", "pork")},
    "I'm allergic to peanuts and shellfish.": {("diet", "peanuts"), ("diet", "shellfish")},
    "I love hiking and birdwatching.": {("likes", "hiking"), ("likes", "birdwatching")},
    "I can't stand cilantro, it tastes like soap.": {("dislikes", "cilantro")},
    "I hate long meetings and I really love quick standups.": {
        ("dislikes", "long meetings"),
        ("likes", "quick standups"),
    },
    "My pronouns are they/them.": {("pronouns", "they/them")},
    "My time zone is UTC+8.": {("timezone", "UTC+8")},
    "I'm in UTC+8, so mornings are best.": {("timezone", "UTC+8")},
    "From now on, please answer in French.": {("language", "French")},
    "My birthday is March 14, can you plan a party?": {("birthday", "March 14")},
    # Chinese
    "我叫小王。": {("name", "小王")},
    "我的名字是李明，大家都叫我明明。": {("name", "李明"), ("preferred_name", "明明")},
    "叫我阿杰就行。": {("preferred_name", "阿杰")},
    "我住在杭州。": {("location", "杭州")},
    "我来自成都。": {("hometown", "成都")},
    "我是北京人。": {("hometown", "北京")},
    "我在北京工作。": {("location", "北京")},
    "我在腾讯工作。": {("employer", "腾讯")},
    "我会说日语和韩语。": {("speaks", "日语"), ("speaks", "韩语")},
    "我的母语是粤语。": {("speaks", "粤语")},
    "我是一名产品经理。": {("job", "产品经理")},
    "我是素食者。": {("diet", "素食")},
    "我不吃猪肉。": {("diet", "猪肉")},
    "我对花生过敏。": {("diet", "花生")},
    "我喜欢爬山和游泳。": {("likes", "爬山"), ("likes", "游泳")},
    "我最讨厌下雨天了。": {("dislikes", "下雨天")},
    "我不喜欢吃甜食。": {("dislikes", "甜食")},
    "我的时区是东八区。": {("timezone", "东八区")},
    "以后请用中文回答我。": {("language", "中文")},
    # A clause that carries on the subject of the one before.
    "我叫小王，在上海工作。": {("name", "小王"), ("location", "上海")},
    "我不吃香菜，也不吃辣。": {("diet", "香菜"), ("diet", "辣")},
    # Mixed
    "我是一名 software engineer，主要写 backend。": {("job", "software engineer")},
    "I live in 上海 and work remotely.": {("location", "上海")},
    "我叫Kevin，在Google工作。": {("name", "Kevin"), ("employer", "Google")},
    "我平时用Go写后端服务。": {("programming", "Go")},
    "My name is 陈静, but you can call me Jing.": {("name", "陈静"), ("preferred_name", "Jing")},
    "I'm vegetarian，所以不要推荐肉菜。": {("diet", "vegetarian")},
    "我很喜欢 jazz 和 hip-hop。": {("likes", "jazz"), ("likes", "hip-hop")},
    "Hi 我叫 Lena，是一名 nurse。": {("name", "Lena"), ("job", "nurse")},
}


@pytest.mark.parametrize("message", list(POSITIVES))
def test_a_plain_self_statement_is_proposed(message: str) -> None:
    assert facts(message) == POSITIVES[message]


NEGATIVES = {
    "question": [
        "Am I vegetarian?",
        "what is my name?",
        "I live in Berlin?",
        "Do you think I should live in Berlin?",
        "I'm vegetarian, right?",
        "我是素食者吗？",
        "我叫什么名字？",
        "你知道我住在哪里吗？",
        "Am I 素食者 if I eat eggs?",
    ],
    "hypothetical": [
        "If I were vegetarian, what would I eat?",
        "Suppose I'm a nurse at a big hospital.",
        "Let's say I live in Tokyo.",
        "I'm not sure I like jazz.",
        "如果我是素食者，该吃什么？",
        "假如我住在上海，房租多少？",
        "如果 I were vegan 的话，蛋白质从哪来？",
    ],
    "reported speech": [
        "My friend said I'm lazy.",
        "He told me I'm a terrible cook.",
        "他说：我叫小王。",
        "我朋友说我很懒。",
        "我朋友 said I'm a good cook.",
    ],
    "third party": [
        "My wife is vegan.",
        "My sister lives in Seattle and works at Amazon.",
        "他叫小王，是我的同事。",
        "我妈妈住在北京。",
        "我老公是医生。",
        "我妈妈 lives in 北京。",
    ],
    "negation": [
        "I'm not from Berlin.",
        "I'm not vegetarian.",
        "I used to live in Madrid.",
        "Don't call me Sam.",
        "我不是北京人。",
        "我以前住在武汉。",
        "我不是 from Beijing。",
    ],
    "transient": [
        "I'm hungry.",
        "I'm at the station.",
        "I'm tired today.",
        "I'm in a meeting.",
        "I don't eat meat today.",
        "我今天很累。",
        "我现在在车站。",
        "我今天不想吃肉。",
        "今天好累，I'm exhausted.",
    ],
    "code": [
        "```\nI'm vegetarian and I live in Oslo\n```",
        '```python\nprint("my name is Sam")\n```\nWhy does this fail',
        "```js\n// 我叫小王\nconst name = '小王';\n```",
        "Run `I live in Berlin` through the parser",
        "    I'm vegetarian and I live in Oslo",
    ],
    "quote": [
        "> I'm vegetarian and I live in Oslo\nwhat do you think of this line",
        "> 我叫小王，住在北京\n这句怎么样",
        'She wrote "I live in Rome" on the card.',
        "“我是素食者”这句话不错。",
    ],
    "someone else's first person": [
        "Translate into French: I live in London and I'm a teacher.",
        "帮我翻译：我喜欢猫。",
    ],
    "not a fact": [
        "I'm Sorry about that.",
        "I'm German.",
        "Call me later.",
        "Can you call me a taxi?",
        "I love this answer!",
        "I hate it when you do that.",
        "I'd like a recipe for soup.",
        "我叫了外卖。",
        "我叫车去机场。",
        "我喜欢你的回答！",
    ],
}


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(message, id=f"{kind}: {message[:30]}")
        for kind, ms in NEGATIVES.items()
        for message in ms
    ],
)
def test_nothing_is_proposed_from_what_is_not_a_plain_self_statement(message: str) -> None:
    assert extract(message) == []


def test_candidate_text_is_a_short_predicate_in_the_language_it_was_said_in() -> None:
    texts = {
        candidate.text
        for message in (
            "I'm vegetarian and I live in Berlin.",
            "please call me Sam",
            "I work in Go.",
            "我叫小王，我是素食者。",
            "我是一名 software engineer。",
        )
        for candidate in extract(message)
    }
    assert texts == {
        "Is vegetarian",
        "Lives in Berlin",
        "Prefers to be called Sam",
        "Works in Go",
        "名叫小王",
        "是素食者",
        "是software engineer",
    }


def test_slots_are_those_of_slots_py_and_free_form_facts_have_none() -> None:
    candidates = extract("I'm Sam, I live in Oslo, I love jazz and I speak Italian.")
    by_kind = {candidate.kind: candidate for candidate in candidates}
    assert by_kind["name"].slot == "name" and by_kind["location"].slot == "location"
    assert by_kind["likes"].slot is None and by_kind["speaks"].slot is None
    assert all(c.slot is None or c.slot in SLOTS for c in candidates)


def test_span_covers_the_statement_from_its_subject_to_its_value() -> None:
    message = "Hello there. By the way, I live in New York City and I love jazz."
    spans = [message[slice(*candidate.span)] for candidate in extract(message)]
    assert spans == ["I live in New York City", "I love jazz"]


def test_a_message_longer_than_the_limit_is_skipped_whole() -> None:
    message = "I'm vegetarian. " + "x" * MAX_MESSAGE_CHARS
    assert extract(message) == []
    assert extract(message[:MAX_MESSAGE_CHARS]) != []


def test_a_big_paste_and_a_pathological_message_cost_a_few_milliseconds() -> None:
    paste = "I like " * 15_000  # about 100 KB
    pathological = ("I like " * 600)[: MAX_MESSAGE_CHARS - 1]
    started = time.perf_counter()
    assert extract(paste) == []
    paste_seconds = time.perf_counter() - started
    started = time.perf_counter()
    extract(pathological)
    pathological_seconds = time.perf_counter() - started
    assert paste_seconds < 0.005
    # Generous for a shared CI machine; it takes about 10 ms.
    assert pathological_seconds < 0.2


FRAGMENTS = st.sampled_from(
    [
        "I'm ",
        "i am ",
        "my name is ",
        "call me ",
        "I live in ",
        "I love ",
        "I don't eat ",
        "I work at ",
        "I'm a ",
        "我叫",
        "我住在",
        "我是",
        "我不吃",
        "叫我",
        "我喜欢",
        "Sam",
        "Berlin",
        "小王",
        "上海",
        "nurse",
        "vegetarian",
        "素食者",
        "Go",
        " and ",
        "，",
        ", ",
        ".",
        "?",
        "？",
        "\n",
        "```",
        "> ",
        '"',
        "“",
        " today",
        "if ",
        "他说",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(FRAGMENTS | st.text(max_size=12), max_size=25).map("".join))
def test_extract_never_raises_and_its_spans_are_inside_the_message(message: str) -> None:
    for candidate in extract(message):
        assert isinstance(candidate, Candidate)
        start, end = candidate.span
        assert 0 <= start < end <= len(message)
        assert candidate.text and candidate.value


# -- the model-based part ------------------------------------------------------------------


async def model_candidates(scripted_server, message: str, reply: str) -> list[Candidate]:
    """What ModelExtractor proposes for message when the model answers reply."""
    # The scripted server answers by the last user message of the request.
    question = extraction_messages(message)[-1]["content"]
    backend = make_backend(scripted_server.config({question: [reply]}))
    try:
        return await ModelExtractor(backend).extract(message)
    finally:
        await backend.aclose()


async def test_the_model_extractor_drops_a_fact_the_model_made_up(scripted_server) -> None:
    message = "I'm vegetarian and I love cooking."
    reply = (
        'Here are the facts:\n[{"fact": "Is vegetarian", "slot": "diet"}, '
        '{"fact": "Lives in Paris", "slot": "location"}]'
    )
    candidates = await model_candidates(scripted_server, message, reply)
    assert [(c.text, c.slot, c.value) for c in candidates] == [
        ("Is vegetarian", "diet", "vegetarian")
    ]
    assert message[slice(*candidates[0].span)] == "vegetarian"


async def test_the_model_extractor_grounds_chinese_facts(scripted_server) -> None:
    message = "我是素食者，住在杭州。"
    reply = '[{"fact": "是素食者", "slot": "diet"}, {"fact": "住在北京", "slot": "location"}]'
    candidates = await model_candidates(scripted_server, message, reply)
    assert [(c.text, c.slot) for c in candidates] == [("是素食者", "diet")]


@pytest.mark.parametrize(
    "reply",
    [
        "The user is vegetarian.",
        '[{"fact": "Is vegetarian", "slot": ',
        '{"fact": "Is vegetarian", "slot": "diet"}',
        '[1, "vegetarian", {"slot": "diet"}]',
    ],
)
async def test_the_model_extractor_returns_nothing_for_a_malformed_reply(
    scripted_server, reply: str
) -> None:
    assert await model_candidates(scripted_server, "I'm vegetarian.", reply) == []


async def test_the_model_extractor_returns_nothing_when_the_backend_fails(
    scripted_server, caplog: pytest.LogCaptureFixture
) -> None:
    config = replace(scripted_server.config(), base_url=f"{scripted_server.url}/no-such-script/v1")
    backend = make_backend(config)
    try:
        with caplog.at_level(logging.WARNING):
            assert await ModelExtractor(backend).extract("I'm vegetarian.") == []
    finally:
        await backend.aclose()
    assert "memory extractor" in caplog.text


def test_the_first_json_array_is_found_inside_prose_and_fences() -> None:
    reply = 'Sure [not json] here:\n```json\n[{"fact": "Is vegan", "slot": "diet"}]\n```'
    assert first_json_array(reply) == [{"fact": "Is vegan", "slot": "diet"}]
    assert first_json_array("no array here") is None
