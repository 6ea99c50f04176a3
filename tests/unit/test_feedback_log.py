"""FeedbackLog: what a user says about replies, over real TinyDB files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from chatapp import __version__
from chatapp.core.feedback.log import FeedbackLog
from chatapp.core.feedback.records import (
    Author,
    Candidate,
    EventType,
    FeedbackEvent,
    InvalidFeedback,
    Memo,
    Rating,
    Source,
    TemplateRef,
    context_of,
    is_trivial_change,
)
from chatapp.core.models import Message, Role
from chatapp.store.feedback import FeedbackRepo
from chatapp.store.users import UserDir

USER = "tester"
QUESTION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Capital of France?"},
]
OTHER_QUESTION = [{"role": "user", "content": "Capital of Italy?"}]
QUESTION_TURNS = context_of(QUESTION)


@pytest.fixture
def log(data_dir: Path) -> FeedbackLog:
    return FeedbackLog(FeedbackRepo(UserDir(data_dir, USER).feedback), USER)


def reply(
    message_id: str, text: str = "Paris.", model: str = "smollm2", **fields: object
) -> Candidate:
    return Candidate(message_id, text, model, **fields)  # type: ignore[arg-type]


# -- ratings -------------------------------------------------------------------------------


def test_a_rating_keeps_what_the_model_saw_and_made(log: FeedbackLog, data_dir: Path) -> None:
    message = Message(
        conversation_id="c1",
        role=Role.ASSISTANT,
        content="Paris.",
        model="smollm2",
        params={"temperature": 0.2},
        memories_used=["mem1"],
    )
    made = Candidate.from_message(message, template=TemplateRef("concise", 2))

    event = log.rate(made, +1, QUESTION, conversation_id="c1", reasons=["accurate", "clear"])

    [stored] = FeedbackLog(FeedbackRepo(UserDir(data_dir, USER).feedback), USER).events()
    assert stored == event
    assert (stored.type, stored.source, stored.user) == (EventType.RATING, Source.EXPLICIT, USER)
    assert [turn.to_dict() for turn in stored.context] == QUESTION
    assert stored.candidates[0].to_dict() == {
        "message_id": message.id,
        "content": "Paris.",
        "model": "smollm2",
        "params": {"temperature": 0.2},
        "template": {"name": "concise", "version": 2},
        "memory_ids": ["mem1"],
        "written_by": "model",
    }
    assert stored.rating is not None and stored.rating.reasons == ("accurate", "clear")
    assert stored.app_version == __version__ and stored.schema == "chatapp.feedback/1"


def test_the_latest_rating_of_a_reply_wins(log: FeedbackLog) -> None:
    log.rate(reply("m1"), +1, QUESTION, conversation_id="c1")
    changed = log.rate(reply("m1"), -1, QUESTION, conversation_id="c1", reasons=["too short"])
    other = log.rate(reply("m2", "Lyon."), -1, QUESTION, conversation_id="c1")

    assert log.latest_ratings() == {"m1": changed, "m2": other}


def test_a_removed_rating_leaves_no_rating(log: FeedbackLog) -> None:
    log.rate(reply("m1"), +1, QUESTION, conversation_id="c1")
    log.remove_rating(reply("m1"), QUESTION, conversation_id="c1")

    assert log.latest_ratings() == {}
    assert len(log.events()) == 2  # nothing is changed in place
    assert log.stats().by_label == {}


@pytest.mark.parametrize(
    ("thumb", "reasons", "problem"),
    [
        (+1, ["too long"], "'too long' is not a reason for a thumb up"),
        (-1, ["creative"], "'creative' is not a reason for a thumb down"),
        (-1, ["too long", "too long"], "twice"),
        (0, [], "not 0"),
    ],
)
def test_reasons_must_go_with_the_thumb(
    log: FeedbackLog, thumb: int, reasons: list[str], problem: str
) -> None:
    with pytest.raises(InvalidFeedback, match=problem):
        log.rate(reply("m1"), thumb, QUESTION, conversation_id="c1", reasons=reasons)
    assert log.events() == []


# -- choices and implicit signals ----------------------------------------------------------


def test_a_choice_records_the_order_the_replies_were_shown(log: FeedbackLog) -> None:
    first, second = reply("m1"), reply("m2", "Lyon.")

    event = log.prefer(
        [first, second], "m1", QUESTION, conversation_id="c1", shown_order=["m2", "m1"]
    )

    assert event.choice is not None
    assert (event.choice.preferred, event.choice.shown_order) == ("m1", ("m2", "m1"))
    assert log.stats().dpo_pairs == 1


@pytest.mark.parametrize(
    ("preferred", "flags", "problem"),
    [
        ("m3", {}, "was not shown"),
        (None, {}, "exactly one of"),
        ("m1", {"tie": True}, "exactly one of"),
        (None, {"tie": True, "both_bad": True}, "exactly one of"),
        ("m1", {"shown_order": ["m1"]}, "shown_order"),
    ],
)
def test_a_choice_must_make_sense(
    log: FeedbackLog, preferred: str | None, flags: dict[str, object], problem: str
) -> None:
    with pytest.raises(InvalidFeedback, match=problem):
        log.prefer(
            [reply("m1"), reply("m2", "Lyon.")],
            preferred,
            QUESTION,
            conversation_id="c1",
            **flags,  # type: ignore[arg-type]
        )


def test_ties_and_all_bad_make_no_pair(log: FeedbackLog) -> None:
    pair = [reply("m1"), reply("m2", "Lyon.")]
    log.prefer(pair, None, QUESTION, conversation_id="c1", tie=True)
    log.prefer(
        [reply("m3"), reply("m4", "Rome.")], None, QUESTION, conversation_id="c1", both_bad=True
    )

    stats = log.stats()
    assert stats.dpo_pairs == 0
    assert stats.by_label == {"tie": 1, "both_bad": 1}


def test_regenerating_is_recorded_but_is_not_a_preference(log: FeedbackLog) -> None:
    event = log.regenerated(
        reply("m1", "Lyon."), QUESTION, conversation_id="c1", new=reply("m2", "Paris.")
    )

    assert (event.type, event.source) == (EventType.REGENERATE, Source.IMPLICIT)
    assert log.stats().dpo_pairs == 0
    assert log.stats().by_label == {"regenerate": 1}


def test_an_edited_question_is_an_implicit_signal(log: FeedbackLog) -> None:
    before = Candidate("u1", "Capitol of France?", written_by=Author.USER)
    after = Candidate("u2", "Capital of France?", written_by=Author.USER)

    event = log.edited(before, after, [], conversation_id="c1")

    assert (event.type, event.source, event.message_ids) == (
        EventType.EDIT,
        Source.IMPLICIT,
        ("u1", "u2"),
    )


# -- corrections ---------------------------------------------------------------------------


def test_a_correction_is_a_pair_unless_it_is_trivial(log: FeedbackLog) -> None:
    wrong = reply("m1", "The capital of Australia is Sydney.")
    right = reply("m2", "The capital of Australia is Canberra.", written_by=Author.USER)
    typo = reply("m3", "The captial of France is Paris.")
    fixed = reply("m4", "The capital of France is Paris.", written_by=Author.USER)

    real = log.corrected(wrong, right, QUESTION, conversation_id="c1")
    trivial = log.corrected(typo, fixed, QUESTION, conversation_id="c1")

    assert real.correction is not None and not real.correction.trivial
    assert trivial.correction is not None and trivial.correction.trivial
    assert log.stats().dpo_pairs == 1
    assert log.stats().by_label == {"correction": 1, "trivial correction": 1}


def test_a_correction_that_changes_nothing_is_refused(log: FeedbackLog) -> None:
    with pytest.raises(InvalidFeedback, match="same as the reply"):
        log.corrected(reply("m1"), reply("m2"), QUESTION, conversation_id="c1")


@pytest.mark.parametrize(
    ("before", "after", "trivial"),
    [
        ("Paris is the capital.", "Paris  is the capital.\n", True),
        ("Paris is teh capital.", "Paris is the capital.", True),
        ("Paris is the capital", "Paris is the capital!", True),
        ("It was built in 1989.", "It was built in 1998.", False),
        ("Sydney.", "Canberra.", False),
        (
            "A long answer. " * 40 + "The capital is Sydney.",
            "A long answer. " * 40 + "The capital is Canberra.",
            False,
        ),
        ("你好，世界。", "你好，世界！", True),
        ("我喜欢吃辣的食物。", "我不喜欢吃甜的东西。", False),
    ],
)
def test_what_counts_as_a_trivial_change(before: str, after: str, trivial: bool) -> None:
    assert is_trivial_change(before, after) is trivial


# -- consent -------------------------------------------------------------------------------


def test_each_event_carries_the_consent_given_at_the_time(log: FeedbackLog) -> None:
    assert log.consent() is None
    before = log.rate(reply("m1"), +1, QUESTION, conversation_id="c1")
    log.set_consent(True)
    after = log.rate(reply("m2"), +1, QUESTION, conversation_id="c1")

    assert log.consent() is True
    assert (before.consent, after.consent) == (False, True)
    assert log.stats().without_consent == 1


# -- what it adds up to --------------------------------------------------------------------


def test_stats_count_labels_models_templates_and_reasons(log: FeedbackLog) -> None:
    concise = TemplateRef("concise", 1)
    log.rate(reply("m1", template=concise), +1, QUESTION, conversation_id="c1", reasons=["clear"])
    log.rate(
        reply("m2", "Lyon.", "qwen"), -1, QUESTION, conversation_id="c1", reasons=["wrong facts"]
    )
    log.prefer(
        [reply("m3", "Rome.", template=concise), reply("m4", "Roma.", "qwen")],
        "m3",
        OTHER_QUESTION,
        conversation_id="c2",
    )

    stats = log.stats()

    assert stats.events == 3
    assert stats.by_label == {"up": 1, "down": 1, "preferred": 1}
    assert stats.by_model == {"qwen": {"down": 1, "lost": 1}, "smollm2": {"up": 1, "won": 1}}
    assert stats.by_template == {"concise v1": {"up": 1, "won": 1}}
    assert stats.by_reason == {"clear": 1, "wrong facts": 1}
    # m1 up and m2 down answered the same context: a pair; and the choice is another.
    assert stats.dpo_pairs == 2


def test_a_template_version_has_a_practice_record(log: FeedbackLog) -> None:
    new, old = TemplateRef("concise", 2), TemplateRef("concise", 1)

    def match(preferred: str | None, **flags: bool) -> None:
        replies = [reply("a", "Paris.", template=new), reply("b", "Paris!", template=old)]
        log.prefer(replies, preferred, QUESTION, conversation_id="c1", **flags)  # type: ignore[arg-type]

    match("a")
    assert log.record_for("concise", 2).wins == 1
    match("b")  # the same two replies chosen again: the latest choice counts
    match(None, tie=True)
    other = [reply("c", template=new), reply("d", "Lyon.", template=old)]
    log.prefer(other, "c", OTHER_QUESTION, conversation_id="c2")
    itself = [reply("e", template=new), reply("f", "Rome.", template=new)]
    log.prefer(itself, "e", OTHER_QUESTION, conversation_id="c3")  # not against another

    record = log.record_for("concise", 2)
    assert (record.wins, record.losses, record.ties) == (1, 0, 1)
    assert log.record_for("concise", 1).losses == 1
    assert log.record_for("other", 1).played == 0


def test_a_record_read_back_is_the_record_written() -> None:
    event = FeedbackEvent.from_dict(
        {
            "schema": "chatapp.feedback/1",
            "event_id": "01J0000000000000000000000",
            "ts": 1.5,
            "user": USER,
            "conversation_id": "c1",
            "type": "pairwise",
            "source": "explicit",
            "context": QUESTION,
            "candidates": [reply("m1").to_dict(), reply("m2", "Lyon.").to_dict()],
            "rating": None,
            "choice": {"tie": True, "shown_order": ["m2", "m1"]},
            "correction": None,
            "consent": True,
            "app_version": "0.1.0",
        }
    )

    assert FeedbackEvent.from_dict(event.to_dict()) == event


def test_records_read_together_share_turns_and_replies_but_nothing_else() -> None:
    """A Memo makes a turn or reply met again the same object; a reply stored under
    the same id with other values (a changed model, say) is still read as stored."""
    first = FeedbackEvent(
        USER,
        "c1",
        EventType.REGENERATE,
        Source.IMPLICIT,
        QUESTION_TURNS,
        (reply("m1"), reply("m2")),
    )
    rated = FeedbackEvent(
        USER,
        "c1",
        EventType.RATING,
        Source.EXPLICIT,
        QUESTION_TURNS,
        (reply("m2"),),
        rating=Rating(1),
    )
    changed = replace(reply("m2"), model="other-model")
    again = replace(rated, candidates=(changed,), event_id="01J0000000000000000000002")
    memo = Memo()

    read = [FeedbackEvent.from_dict(e.to_dict(), memo=memo) for e in (first, rated, again)]

    assert read == [first, rated, again]
    assert read[1].context[0] is read[0].context[0]
    assert read[1].candidates[0] is read[0].candidates[1]
    assert read[2].candidates[0].model == "other-model"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"context": [{"role": "user"}]}, "no content"),
        ({"context": [{"content": "hi"}]}, "no role"),
        ({"type": "like"}, "unknown type 'like'"),
        ({"ts": "yesterday"}, "no time"),
        ({"context": [{"role": "robot", "content": "hi"}]}, "unknown role 'robot'"),
        ({"rating": None}, "rating event without a rating"),
        ({"choice": {"preferred": "m1"}}, "rating event with a choice"),
    ],
)
def test_a_damaged_record_says_what_is_wrong(change: dict[str, object], problem: str) -> None:
    rating = FeedbackEvent(
        USER, "c1", EventType.RATING, Source.EXPLICIT, (), (reply("m1"),), rating=Rating(1)
    )
    good = rating.to_dict()

    with pytest.raises(InvalidFeedback, match=problem):
        FeedbackEvent.from_dict({**good, **change})


def test_a_built_in_template_has_a_record_of_its_own(log: FeedbackLog) -> None:
    built_in, saved = TemplateRef("summarize"), TemplateRef("summarize", 1)
    replies = [reply("a", "Short.", template=built_in), reply("b", "Shorter.", template=saved)]

    event = log.prefer(replies, "b", QUESTION, conversation_id="c1")

    assert event.candidates[0].to_dict()["template"] == {"name": "summarize", "version": None}
    assert log.record_for("summarize", None).losses == 1
    assert log.record_for("summarize", 1).wins == 1
    assert log.stats().by_template == {"summarize": {"lost": 1}, "summarize v1": {"won": 1}}
