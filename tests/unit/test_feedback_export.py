"""Exports of feedback: rows alignment tools load as they are, only what users agreed
to, redacted, over real TinyDB files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from chatapp.core.feedback.export import (
    Export,
    OneSidedKto,
    UnknownFormat,
    UserFeedback,
    export,
    user_hash,
    write_export,
)
from chatapp.core.feedback.log import FeedbackLog
from chatapp.core.feedback.records import (
    Author,
    Candidate,
    Choice,
    EventType,
    FeedbackEvent,
    Rating,
    Source,
    TemplateRef,
    context_of,
)
from chatapp.core.feedback.report import ExportReport
from chatapp.core.memory.retrieve import pinned_block, turn_block
from chatapp.core.models import Memory
from chatapp.store.feedback import FeedbackRepo
from chatapp.store.users import UserDir

USER = "tester"
KEY = b"k" * 32
QUESTION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Capital of France?"},
]
FOLLOW_UP = [
    {"role": "user", "content": "Capital of France?"},
    {"role": "assistant", "content": "Paris."},
    {"role": "user", "content": "And of Italy?"},
]


def open_log(data_dir: Path, user: str = USER, consent: bool | None = True) -> FeedbackLog:
    log = FeedbackLog(FeedbackRepo(UserDir(data_dir, user).feedback), user)
    if consent is not None:
        log.set_consent(consent)
    return log


@pytest.fixture
def log(data_dir: Path) -> FeedbackLog:
    return open_log(data_dir)


def reply(message_id: str, text: str, model: str = "smollm2", **fields: object) -> Candidate:
    return Candidate(message_id, text, model, **fields)  # type: ignore[arg-type]


def feedback_of(*logs: FeedbackLog) -> list[UserFeedback]:
    return [UserFeedback.of(log.user, log.events(), log.consent()) for log in logs]


@dataclass(frozen=True)
class Exported:
    rows: list[dict[str, Any]]
    report: ExportReport


def exported(feedback: list[UserFeedback], format: str, **options: Any) -> Exported:
    """Read the export's rows, then its report, as write_export does."""
    result = export(feedback, format, key=KEY, **options)
    rows = list(result)
    return Exported(rows, result.report)


def rows_of(log: FeedbackLog, format: str, **options: Any) -> list[dict[str, Any]]:
    return exported(feedback_of(log), format, **options).rows


def roles(messages: list[dict[str, str]]) -> list[str]:
    return [message["role"] for message in messages]


def is_assistant_message(messages: object) -> bool:
    """A list of one {"role": "assistant", "content": non-empty text}: TRL's completion."""
    if not isinstance(messages, list) or len(messages) != 1:
        return False
    [message] = messages
    return (
        set(message) == {"role", "content"}
        and message["role"] == "assistant"
        and bool(message["content"].strip())
    )


# -- the formats, as TRL and OpenAI load them -------------------------------------------------


def test_dpo_rows_come_from_choices_corrections_and_rated_siblings(log: FeedbackLog) -> None:
    log.prefer(
        [reply("a1", "Paris."), reply("a2", "Lyon.")],
        "a1",
        QUESTION,
        conversation_id="c1",
        shown_order=["a2", "a1"],
    )
    wrong, right = reply("b1", "Milan."), reply("b2", "Rome.", written_by=Author.USER)
    log.corrected(wrong, right, FOLLOW_UP, conversation_id="c2")
    log.rate(reply("c1", "It is Paris."), +1, QUESTION, conversation_id="c3")
    log.rate(reply("c2", "France has no capital."), -1, QUESTION, conversation_id="c3")

    result = exported(feedback_of(log), "dpo")

    assert [set(row) for row in result.rows] == [{"prompt", "chosen", "rejected"}] * 3
    for row in result.rows:
        assert roles(row["prompt"])[-1] == "user"
        assert is_assistant_message(row["chosen"]) and is_assistant_message(row["rejected"])
    by_chosen = {row["chosen"][0]["content"]: row for row in result.rows}
    assert by_chosen["Paris."]["rejected"][0]["content"] == "Lyon."
    assert by_chosen["Paris."]["prompt"] == QUESTION
    assert by_chosen["Rome."]["rejected"][0]["content"] == "Milan."
    assert roles(by_chosen["Rome."]["prompt"]) == ["user", "assistant", "user"]
    assert by_chosen["It is Paris."]["rejected"][0]["content"] == "France has no capital."
    assert result.report.sources == {"pairwise": 1, "correction": 1, "rated siblings": 1}
    assert result.report.position is not None
    assert (result.report.position.first_chosen, result.report.position.decided) == (0, 1)


def test_openai_rows_hold_the_same_pairs(log: FeedbackLog) -> None:
    log.prefer([reply("a1", "Paris."), reply("a2", "Lyon.")], "a1", QUESTION, conversation_id="c1")

    [row] = rows_of(log, "openai")

    assert row == {
        "input": {"messages": QUESTION},
        "preferred_output": [{"role": "assistant", "content": "Paris."}],
        "non_preferred_output": [{"role": "assistant", "content": "Lyon."}],
    }


def test_kto_rows_come_from_thumbs_and_corrections(log: FeedbackLog) -> None:
    log.rate(reply("a1", "Paris."), +1, QUESTION, conversation_id="c1")
    wrong, right = reply("b1", "Milan."), reply("b2", "Rome.", written_by=Author.USER)
    log.corrected(wrong, right, FOLLOW_UP, conversation_id="c2")

    result = exported(feedback_of(log), "kto")

    assert [set(row) for row in result.rows] == [{"prompt", "completion", "label"}] * 3
    labels = {row["completion"][0]["content"]: row["label"] for row in result.rows}
    assert labels == {"Paris.": True, "Milan.": False, "Rome.": True}
    assert all(is_assistant_message(row["completion"]) for row in result.rows)
    assert result.report.kto is not None
    assert (result.report.kto.desirable, result.report.kto.undesirable) == (2, 1)
    assert (result.report.kto.desirable_weight, result.report.kto.undesirable_weight) == (1.0, 2.0)


def test_sft_rows_are_liked_and_corrected_replies(log: FeedbackLog) -> None:
    log.rate(reply("a1", "Paris."), +1, QUESTION, conversation_id="c1")
    log.rate(reply("a2", "Lyon."), -1, QUESTION, conversation_id="c1")
    wrong, right = reply("b1", "Milan."), reply("b2", "Rome.", written_by=Author.USER)
    log.corrected(wrong, right, FOLLOW_UP, conversation_id="c2")

    rows = rows_of(log, "sft")

    assert [set(row) for row in rows] == [{"messages"}] * 2
    assert rows[0]["messages"] == [*QUESTION, {"role": "assistant", "content": "Paris."}]
    assert roles(rows[1]["messages"]) == ["user", "assistant", "user", "assistant"]
    assert rows[1]["messages"][-1]["content"] == "Rome."


def test_an_unknown_format_is_named(log: FeedbackLog) -> None:
    with pytest.raises(UnknownFormat, match="one of: raw, dpo, kto, sft, openai"):
        export(feedback_of(log), "csv", key=KEY)  # at once, before any row is read


# -- what counts ------------------------------------------------------------------------------


def test_only_the_latest_rating_of_a_reply_counts(log: FeedbackLog) -> None:
    log.rate(reply("a1", "Paris."), +1, QUESTION, conversation_id="c1")
    log.rate(reply("a1", "Paris."), -1, QUESTION, conversation_id="c1", reasons=["too short"])
    log.rate(reply("a2", "Lyon."), -1, QUESTION, conversation_id="c1")
    log.remove_rating(reply("a2", "Lyon."), QUESTION, conversation_id="c1")

    [row] = rows_of(log, "kto", force=True)

    assert (row["completion"][0]["content"], row["label"]) == ("Paris.", False)


def test_a_pair_needs_both_replies_to_have_seen_the_same_context(log: FeedbackLog) -> None:
    other_system = [{**QUESTION[0], "content": "Be very brief."}, QUESTION[1]]
    log.rate(reply("a1", "Paris."), +1, QUESTION, conversation_id="c1")
    log.rate(reply("a2", "Lyon."), -1, other_system, conversation_id="c1")

    assert rows_of(log, "dpo") == []

    log.rate(reply("a3", "Marseille."), -1, QUESTION, conversation_id="c1")
    [row] = rows_of(log, "dpo")
    assert (row["chosen"][0]["content"], row["rejected"][0]["content"]) == ("Paris.", "Marseille.")


def test_regenerating_is_not_a_preference(log: FeedbackLog) -> None:
    log.regenerated(reply("a1", "Lyon."), QUESTION, conversation_id="c1", new=reply("a2", "Paris."))

    for format in ("dpo", "kto", "sft", "openai"):
        assert rows_of(log, format, force=True) == [], format
    [raw] = rows_of(log, "raw")
    assert (raw["type"], raw["source"]) == ("regenerate", "implicit")


def test_ties_and_all_bad_stay_in_raw(log: FeedbackLog) -> None:
    same = [reply("a1", "Paris."), reply("a2", "Paris!")]
    log.prefer(same, None, QUESTION, conversation_id="c1", tie=True)
    bad = [reply("a3", "Lyon."), reply("a4", "Nice.")]
    log.prefer(bad, None, QUESTION, conversation_id="c1", both_bad=True)

    assert rows_of(log, "dpo") == [] and rows_of(log, "openai") == []
    assert len(rows_of(log, "raw")) == 2


def test_trivial_corrections_are_left_out_of_dpo_and_kto(log: FeedbackLog) -> None:
    typo, fixed = reply("a1", "The captial is Paris."), reply("a2", "The capital is Paris.")
    log.corrected(typo, fixed, QUESTION, conversation_id="c1")

    assert rows_of(log, "dpo") == []
    assert rows_of(log, "kto", force=True) == []
    [row] = rows_of(log, "sft")
    assert row["messages"][-1]["content"] == "The capital is Paris."


# -- consent ----------------------------------------------------------------------------------


def test_only_what_users_agreed_to_is_exported(data_dir: Path) -> None:
    never_asked = open_log(data_dir, "ann", consent=None)
    never_asked.rate(reply("a1", "Paris."), +1, QUESTION, conversation_id="c1")
    late = open_log(data_dir, "bob", consent=None)
    late.rate(reply("b1", "Paris."), +1, QUESTION, conversation_id="c1")  # before saying yes
    late.set_consent(True)
    late.rate(reply("b2", "Lyon."), -1, QUESTION, conversation_id="c1")
    revoked = open_log(data_dir, "cat", consent=True)
    revoked.rate(reply("c1", "Paris."), +1, QUESTION, conversation_id="c1")
    revoked.set_consent(False)

    result = exported(feedback_of(never_asked, late, revoked), "kto", force=True)

    assert [row["completion"][0]["content"] for row in result.rows] == ["Lyon."]
    assert result.report.held_back == 3
    assert result.report.users == 1
    assert "3 events held back" in result.report.summary()


def test_a_kto_set_of_one_label_is_refused_unless_forced(log: FeedbackLog) -> None:
    log.rate(reply("a1", "Paris."), +1, QUESTION, conversation_id="c1")
    log.rate(reply("a2", "Paris!"), +1, QUESTION, conversation_id="c1")

    with pytest.raises(OneSidedKto, match=r"2 labels are all true \(2 true, 0 false\)") as refused:
        exported(feedback_of(log), "kto")
    assert "\n" not in str(refused.value)

    result = exported(feedback_of(log), "kto", force=True)
    assert [row["label"] for row in result.rows] == [True, True]


# -- filters ----------------------------------------------------------------------------------


def test_filters_narrow_by_date_model_and_template(log: FeedbackLog) -> None:
    concise = TemplateRef("concise", 3)
    log.rate(reply("a1", "Paris.", "smollm2"), +1, QUESTION, conversation_id="c1")
    qwen = reply("a2", "Paris!", "qwen", template=concise)
    middle = log.rate(qwen, +1, QUESTION, conversation_id="c1")
    log.rate(reply("a3", "Lyon.", "smollm2", template=concise), -1, QUESTION, conversation_id="c1")

    def texts(**filters: Any) -> list[str]:
        rows = rows_of(log, "kto", force=True, **filters)
        return [row["completion"][0]["content"] for row in rows]

    assert texts(since=middle.ts) == ["Paris!", "Lyon."]
    assert texts(model="smollm2") == ["Paris.", "Lyon."]
    assert texts(template="concise") == ["Paris!", "Lyon."]
    assert texts(template=TemplateRef("concise", 2)) == []
    report = exported(feedback_of(log), "kto", force=True, model="qwen").report
    assert report.filters == {"model": "qwen"}


# -- validation -------------------------------------------------------------------------------


def test_invalid_rows_are_skipped_with_a_reason(log: FeedbackLog) -> None:
    log.rate(reply("a1", " \n"), +1, QUESTION, conversation_id="c1")
    answered = [*QUESTION, {"role": "assistant", "content": "Hm."}]
    log.rate(reply("a2", "Paris."), +1, answered, conversation_id="c1")
    log.rate(reply("a3", "Paris."), +1, [], conversation_id="c1")
    log.rate(reply("a4", "Paris."), +1, QUESTION, conversation_id="c1")

    result = exported(feedback_of(log), "sft")

    assert len(result.rows) == 1
    assert result.report.skipped == {
        "an empty reply": 1,
        "a prompt that does not end with a user message": 1,
        "empty prompt": 1,
    }


# -- privacy ----------------------------------------------------------------------------------

PRIVATE = (
    "Write to jane.doe@example.com or call +1 (555) 123-4567; my key is"
    " sk-proj-4fR9xQ2mZ7LkP0vB8nW3 and the file is /home/jane/notes/todo.md"
)


def test_personal_data_is_redacted_unless_told_not_to(log: FeedbackLog) -> None:
    question = [{"role": "user", "content": PRIVATE}]
    answer = reply("a1", r"Saved to C:\Users\jane\notes and /Users/jane/x.")
    log.rate(answer, +1, question, conversation_id="c1")

    result = exported(feedback_of(log), "sft")

    [row] = result.rows
    text = orjson.dumps(row).decode()
    for secret in ("jane", "555", "sk-proj", "example.com"):
        assert secret not in text
    assert row["messages"][0]["content"] == (
        "Write to [email] or call [phone]; my key is [key] and the file is ~/notes/todo.md"
    )
    assert row["messages"][1]["content"] == r"Saved to ~\notes and ~/x."
    assert result.report.redactions == {"email": 1, "phone": 1, "key": 1, "home path": 3}
    [plain] = rows_of(log, "sft", redact=False)
    assert plain["messages"][0]["content"] == PRIVATE


def test_saved_memories_are_taken_out_of_prompts(log: FeedbackLog) -> None:
    today = date(2026, 5, 1)
    pinned = [Memory(user=USER, text="My name is Jane", pinned=True)]
    relevant = [Memory(user=USER, text="I live in Lyon")]
    system = f"Be brief.\n\n{pinned_block(pinned, today=today)}"
    question = f"{turn_block(relevant, today=today)}\n\nWhere should I eat tonight?"
    seen = [{"role": "system", "content": system}, {"role": "user", "content": question}]
    log.rate(reply("a1", "Try a bouchon."), +1, seen, conversation_id="c1")

    result = exported(feedback_of(log), "sft")

    assert result.rows[0]["messages"][:2] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Where should I eat tonight?"},
    ]
    assert result.report.redactions["memory block"] == 2
    [kept] = rows_of(log, "sft", include_memories=True)
    assert kept["messages"][:2] == seen


def test_a_system_prompt_of_memories_only_goes_with_them(log: FeedbackLog) -> None:
    pinned = [Memory(user=USER, text="My name is Jane", pinned=True)]
    seen = [
        {"role": "system", "content": pinned_block(pinned, today=date(2026, 5, 1))},
        {"role": "user", "content": "Hi"},
    ]
    log.rate(reply("a1", "Hello!"), +1, seen, conversation_id="c1")

    [row] = rows_of(log, "sft")

    assert roles(row["messages"]) == ["user", "assistant"]


# -- raw, files and the card ------------------------------------------------------------------


def test_raw_rows_are_the_events_with_the_user_hashed(log: FeedbackLog) -> None:
    log.rate(reply("a1", "Paris."), +1, QUESTION, conversation_id="c1", reasons=["accurate"])
    log.prefer([reply("a2", "Paris."), reply("a3", "Lyon.")], "a3", QUESTION, conversation_id="c1")
    log.corrected(reply("a4", "Milan."), reply("a5", "Rome."), FOLLOW_UP, conversation_id="c2")
    events = log.events()

    rows = rows_of(log, "raw", redact=False, include_memories=True)

    assert all(row["user"] == user_hash(KEY, USER) != USER for row in rows)
    assert user_hash(KEY, USER) != user_hash(b"another key" * 3, USER)
    back = [FeedbackEvent.from_dict({**row, "user": USER}) for row in rows]
    assert back == events


def test_an_export_file_keeps_chinese_as_it_is_and_has_a_card(
    log: FeedbackLog, tmp_path: Path
) -> None:
    question = [{"role": "user", "content": "中国的首都是哪里？"}]
    log.rate(reply("a1", "北京。你好！"), +1, question, conversation_id="c1")
    log.rate(reply("a2", "上海。"), -1, question, conversation_id="c1", reasons=["wrong facts"])
    log.prefer([reply("a3", "北京"), reply("a4", "南京")], "a3", question, conversation_id="c2")
    out = tmp_path / "prefs.jsonl"

    card = write_export(export(feedback_of(log), "dpo", key=KEY), out)

    data = out.read_bytes()
    assert "北京。你好！".encode() in data and b"\\u" not in data
    lines = [orjson.loads(line) for line in data.splitlines()]
    assert [row["chosen"][0]["content"] for row in lines] == ["北京。你好！", "北京"]
    assert card == tmp_path / "prefs.md"
    text = card.read_text()
    assert text.startswith("---\n") and '    path: "prefs.jsonl"\n' in text
    assert "- rows: 2" in text and "- pairwise: 1" in text and "- rated siblings: 1" in text
    assert "The reply shown first was chosen in 1 of 1" in text


def test_a_kto_card_suggests_weights_that_balance_the_labels(
    log: FeedbackLog, tmp_path: Path
) -> None:
    for number in range(3):
        log.rate(reply(f"a{number}", f"Paris {number}."), +1, QUESTION, conversation_id="c1")
    log.rate(reply("b1", "Lyon."), -1, QUESTION, conversation_id="c1")

    card = write_export(export(feedback_of(log), "kto", key=KEY), tmp_path / "kto.jsonl")

    text = card.read_text()
    assert "- desirable (`label: true`): 3" in text
    assert "`desirable_weight=1.0`, `undesirable_weight=3.0`" in text


# -- streaming: a month at a time ---------------------------------------------------------------

MONTH = 31 * 86_400
SPRING = 1_775_000_000.0  # 2026-03-31: the events below fall in four months from here


def rated(
    message_id: str, text: str, thumb: int, ts: float, context: Any = QUESTION
) -> FeedbackEvent:
    return FeedbackEvent(
        user=USER,
        conversation_id="c1",
        type=EventType.RATING,
        source=Source.EXPLICIT,
        context=context_of(context),
        candidates=(reply(message_id, text),),
        rating=Rating(thumb),
        consent=True,
        ts=ts,
    )


def chosen(replies: list[Candidate], preferred: str, ts: float) -> FeedbackEvent:
    ids = tuple(candidate.message_id for candidate in replies)
    return FeedbackEvent(
        user=USER,
        conversation_id="c2",
        type=EventType.PAIRWISE,
        source=Source.EXPLICIT,
        context=context_of(FOLLOW_UP),
        candidates=tuple(replies),
        choice=Choice(preferred, shown_order=ids),
        consent=True,
        ts=ts,
    )


@pytest.fixture
def seasons(data_dir: Path) -> FeedbackRepo:
    """A log over four months: replies rated up in one month and down in a later one,
    a rating changed months later, a choice made again."""
    repo = FeedbackRepo(UserDir(data_dir, USER).feedback)
    repo.set_consent(True)
    for event in (
        rated("a1", "Paris.", +1, SPRING),
        rated("a2", "Lyon.", -1, SPRING + MONTH),  # a pair with a1, a month later
        replace(  # regenerated, which only the raw format reads
            rated("a2", "Lyon.", -1, SPRING + MONTH + 30),
            type=EventType.REGENERATE,
            source=Source.IMPLICIT,
            candidates=(reply("a1", "Paris."), reply("a2", "Lyon.")),
            rating=None,
        ),
        rated("b1", "Rome.", +1, SPRING + MONTH + 60, FOLLOW_UP),
        chosen([reply("c1", "Rome!"), reply("c2", "Milan.")], "c2", SPRING + MONTH + 120),
        rated("a3", "Nice.", -1, SPRING + 2 * MONTH),  # a pair with a1, two months later
        rated("b1", "Rome.", -1, SPRING + 2 * MONTH + 60, FOLLOW_UP),  # changed its mind
        rated("b2", "Roma.", +1, SPRING + 3 * MONTH, FOLLOW_UP),
        chosen([reply("c1", "Rome!"), reply("c2", "Milan.")], "c1", SPRING + 3 * MONTH + 60),
    ):
        repo.append(event)
    return repo


@pytest.mark.parametrize("format", ["raw", "dpo", "kto", "sft", "openai"])
def test_a_log_read_month_by_month_exports_as_it_would_from_memory(
    seasons: FeedbackRepo, format: str
) -> None:
    assert len(seasons.months()) == 4
    streamed = exported([UserFeedback(USER, seasons.events_by_month, True)], format, force=True)
    held = exported([UserFeedback.of(USER, seasons.events(), True)], format, force=True)

    assert streamed == held
    assert streamed.rows


def test_pairs_across_months_come_out_in_order(seasons: FeedbackRepo) -> None:
    rows = exported([UserFeedback(USER, seasons.events_by_month, True)], "dpo").rows

    pairs = [(row["chosen"][0]["content"], row["rejected"][0]["content"]) for row in rows]
    assert pairs == [
        ("Paris.", "Lyon."),
        ("Paris.", "Nice."),
        ("Roma.", "Rome."),
        ("Rome!", "Milan."),
    ]


def test_rows_are_written_while_the_log_is_read(seasons: FeedbackRepo, tmp_path: Path) -> None:
    """The first rows reach the file before the last month is read again: nothing
    waits for the whole log."""
    happened: list[str] = []

    def months(*, only: Any = None, kinds: Any = None) -> Iterator[list[FeedbackEvent]]:
        for month in seasons.events_by_month(only=only, kinds=kinds):
            happened.append("second reading" if only is not None else "first reading")
            yield month

    class Recording:
        def __init__(self, result: Export) -> None:
            self.result = result

        def __iter__(self) -> Iterator[dict[str, Any]]:
            for row in self.result:
                happened.append("row")
                yield row

    result = export([UserFeedback(USER, months, True)], "dpo")
    rows = list(Recording(result))

    assert len(rows) == 4
    assert happened.index("row") < len(happened) - 1 - happened[::-1].index("second reading")
    assert happened.count("first reading") == 4


def test_an_event_gone_when_read_again_is_skipped_with_a_reason(seasons: FeedbackRepo) -> None:
    def months(*, only: Any = None, kinds: Any = None) -> Iterator[list[FeedbackEvent]]:
        for month in seasons.events_by_month(only=only, kinds=kinds):
            yield [event for event in month if only is None or event.ts != SPRING + MONTH]

    result = exported([UserFeedback(USER, months, True)], "dpo")

    assert len(result.rows) == 3
    assert result.report.skipped == {"its event could not be read again": 1}


def test_a_refused_export_leaves_the_file_that_was_there(log: FeedbackLog, tmp_path: Path) -> None:
    log.rate(reply("a1", "Paris."), +1, QUESTION, conversation_id="c1")
    out = tmp_path / "kto.jsonl"
    out.write_text("earlier\n")

    with pytest.raises(OneSidedKto):
        write_export(export(feedback_of(log), "kto", key=KEY), out)

    assert out.read_text() == "earlier\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data", "kto.jsonl"]


def test_the_report_is_there_once_the_rows_were_read(log: FeedbackLog) -> None:
    log.rate(reply("a1", "Paris."), +1, QUESTION, conversation_id="c1")
    result = export(feedback_of(log), "sft", key=KEY)

    with pytest.raises(RuntimeError, match="once its rows were read"):
        _ = result.report
    assert len(list(result)) == 1
    assert result.report.rows == 1
    with pytest.raises(RuntimeError, match="can be read once"):
        list(result)
