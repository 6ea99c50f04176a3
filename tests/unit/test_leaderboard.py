"""The leaderboard: models and template versions ranked by the user's pairwise choices,
in the core and as `chatapp feedback leaderboard` prints it."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from chatapp.core.feedback.leaderboard import Grouping, Leaderboard, Standing, leaderboard
from chatapp.core.feedback.log import FeedbackLog
from chatapp.core.feedback.records import (
    Candidate,
    Choice,
    EventType,
    FeedbackEvent,
    Source,
    TemplateRef,
    Turn,
)
from chatapp.core.models import new_id
from chatapp.store.feedback import FeedbackRepo
from chatapp.store.users import UserDir
from tests.unit.test_cli import CHATAPP

QUESTION = (Turn("user", "Capital of France?"),)
# Of each pair, the first's wins, losses and ties: A beats B 70% of the decided choices,
# B beats C 70%, A beats C 85%, and a few ties between each.
KNOWN_ORDER = {("A", "B"): (14, 6, 4), ("B", "C"): (14, 6, 4), ("A", "C"): (17, 3, 4)}


def reply(model: str = "smollm2", template: TemplateRef | None = None) -> Candidate:
    return Candidate(new_id(), f"a reply by {model}", model, template=template)


def chose(
    replies: list[Candidate], preferred: int | None = None, *, tie: bool = False
) -> FeedbackEvent:
    """A choice among replies: the one at index preferred, or a tie, else all bad."""
    ids = tuple(candidate.message_id for candidate in replies)
    choice = Choice(
        ids[preferred] if preferred is not None else None,
        tie=tie,
        both_bad=preferred is None and not tie,
        shown_order=ids,
    )
    return FeedbackEvent(
        user="tester",
        conversation_id="c1",
        type=EventType.PAIRWISE,
        source=Source.EXPLICIT,
        context=QUESTION,
        candidates=tuple(replies),
        choice=choice,
    )


def known_log() -> list[FeedbackEvent]:
    """The choices of KNOWN_ORDER, each shown sometimes first, sometimes second."""
    events = []
    for (first, second), (wins, losses, ties) in KNOWN_ORDER.items():
        outcomes = [0] * wins + [1] * losses + [None] * ties
        for number, outcome in enumerate(outcomes):
            replies = [reply(first), reply(second)]
            if number % 2:  # shown the other way round
                replies.reverse()
                outcome = None if outcome is None else 1 - outcome
            events.append(chose(replies, outcome, tie=outcome is None))
    return events


def board_row(board: Leaderboard, entity: str) -> Standing:
    return next(standing for standing in board.standings if standing.entity == entity)


# -- the ranking --------------------------------------------------------------------------


def test_three_models_come_out_in_their_known_order_ties_included() -> None:
    board = leaderboard(known_log())

    assert [standing.entity for standing in board.standings] == ["A", "B", "C"]
    a, b, c = board.standings
    assert (a.wins, a.losses, a.ties) == (31, 9, 8)
    assert (b.wins, b.losses, b.ties, b.comparisons) == (20, 20, 8, 48)
    assert (c.wins, c.losses, c.ties) == (9, 31, 8)
    # B won as often as it lost: it is the average, and A and C are as far either side.
    assert b.score == pytest.approx(1000)
    assert a.score - b.score == pytest.approx(b.score - c.score)
    # 24 choices a pair tell A from C for sure, not quite A from B or B from C.
    assert a.ci_low > c.ci_high
    assert a.ci_low < b.ci_high and b.ci_low < c.ci_high
    assert all(s.ci_low < s.score < s.ci_high for s in board.standings)
    assert (board.choices, board.compared) == (72, 72)


def test_the_order_of_the_votes_does_not_change_the_table() -> None:
    events = known_log()
    board = leaderboard(events)
    for seed in (1, 2, 3):
        shuffled = events[:]
        random.Random(seed).shuffle(shuffled)
        assert leaderboard(shuffled) == board
    assert leaderboard(reversed(events)) == board


def test_scores_are_on_the_elo_scale() -> None:
    """A reply preferred 3 times in 4 is 400·log10(3) ≈ 191 points better."""
    events = [chose([reply("A"), reply("B")], 0 if n % 4 else 1) for n in range(400)]
    a, b = leaderboard(events).standings
    assert a.score - b.score == pytest.approx(190.8, abs=1)
    assert (a.score + b.score) / 2 == pytest.approx(1000)


def test_models_that_only_tie_score_the_same() -> None:
    events = [chose([reply("A"), reply("B")], tie=True) for _ in range(5)]
    a, b = leaderboard(events).standings
    assert a.score == b.score == pytest.approx(1000)
    assert (a.wins, a.losses, a.ties) == (b.wins, b.losses, b.ties) == (0, 0, 5)


def test_all_bad_is_a_tie_and_the_preferred_of_three_beats_both_others() -> None:
    events = [
        chose([reply("A"), reply("B"), reply("C")], 0),
        chose([reply("A"), reply("B"), reply("C")]),  # all bad
    ]
    board = leaderboard(events)
    results = {s.entity: (s.wins, s.losses, s.ties) for s in board.standings}
    # The losers of a choice are not compared with each other.
    assert results == {"A": (2, 0, 2), "B": (0, 1, 2), "C": (0, 1, 2)}
    assert board.standings[0].entity == "A"
    assert board_row(board, "B").score == pytest.approx(board_row(board, "C").score)


def test_a_changed_choice_counts_once() -> None:
    replies = [reply("A"), reply("B")]
    first = chose(replies, 0)
    changed = chose(replies, 1)
    board = leaderboard([changed, first])  # read in time order, whatever the list's order
    assert (board_row(board, "B").wins, board_row(board, "A").losses) == (1, 1)
    assert board.choices == 1


def test_a_model_that_always_wins_stays_finite() -> None:
    events = [chose([reply("A"), reply("B")], 0) for _ in range(50)]
    a, b = leaderboard(events).standings
    assert 1200 < a.score < 2000 and 0 < b.score < 800
    assert a.ci_low > b.ci_high


def test_replies_of_one_model_are_not_compared() -> None:
    board = leaderboard([chose([reply("smollm2"), reply("smollm2")], 0)])
    assert (board.standings, board.choices, board.compared) == ((), 1, 0)


def test_template_versions_rank_as_separate_entities() -> None:
    v1, v2, builtin = TemplateRef("concise", 1), TemplateRef("concise", 2), TemplateRef("concise")
    events = [
        *(chose([reply(template=v2), reply(template=v1)], 0) for _ in range(3)),
        *(chose([reply(template=v1), reply(template=builtin)], 0) for _ in range(3)),
        chose([reply(template=builtin), reply()], tie=True),
    ]

    by_template = leaderboard(events, Grouping.TEMPLATE)
    assert [s.entity for s in by_template.standings] == [
        "concise v2",
        "concise v1",
        "(no template)",  # tied the built-in, which lost to v1 three times
        "concise (built-in)",
    ]
    assert (board_row(by_template, "concise v1").wins, by_template.compared) == (3, 7)
    # One model made them all: by model, there is nothing to rank.
    assert leaderboard(events, Grouping.MODEL).standings == ()


# -- chatapp feedback leaderboard ---------------------------------------------------------


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CHATAPP, "feedback", "leaderboard", *args], env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def log_of(env: dict[str, str], user: str = "tester") -> FeedbackLog:
    folder = UserDir(Path(env["CHATAPP_DATA_DIR"]), user)
    return FeedbackLog(FeedbackRepo(folder.feedback), user)


def record(log: FeedbackLog, winner: Candidate, loser: Candidate, times: int = 1) -> None:
    for _ in range(times):
        fresh = [
            Candidate(new_id(), c.content, c.model, template=c.template) for c in (winner, loser)
        ]
        context = [turn.to_dict() for turn in QUESTION]
        log.prefer(fresh, fresh[0].message_id, context, conversation_id="c1")


def test_the_cli_prints_the_table_and_json(env: dict[str, str]) -> None:
    assert "no choices yet" in run(env).stdout

    log = log_of(env)
    concise = TemplateRef("concise", 2)
    record(log, reply("big", concise), reply("small"), times=3)
    log.prefer([reply("big"), reply("small")], None, [], conversation_id="c1", tie=True)

    table = run(env)
    assert table.returncode == 0, table.stderr
    header, first, second, summary, method = table.stdout.splitlines()
    assert header.split() == ["#", "model", "score", "±", "95%", "W/L/T", "n"]
    assert first.split()[:2] == ["1", "big"] and first.split()[-2:] == ["3/0/1", "4"]
    assert second.split()[:2] == ["2", "small"]
    assert summary == "4 of 4 choices between different models"
    assert method.startswith("Bradley–Terry")

    data = json.loads(run(env, "--json", "--by", "template").stdout)
    assert data["by"] == "template" and data["choices"] == 4
    assert [row["entity"] for row in data["standings"]] == ["concise v2", "(no template)"]
    assert data["standings"][0]["rank"] == 1 and data["standings"][0]["wins"] == 3
    assert data["standings"][0]["ci_low"] < data["standings"][0]["score"]


def test_the_cli_reads_every_user_with_all_users(env: dict[str, str]) -> None:
    record(log_of(env, "tester"), reply("big"), reply("small"))
    record(log_of(env, "sam"), reply("small"), reply("big"), times=2)

    mine = json.loads(run(env, "--json").stdout)
    everyone = json.loads(run(env, "--json", "--all-users").stdout)

    assert [row["entity"] for row in mine["standings"]] == ["big", "small"]
    assert [row["entity"] for row in everyone["standings"]] == ["small", "big"]
    assert everyone["choices"] == 3


def test_the_cli_refuses_what_it_cannot_rank(env: dict[str, str]) -> None:
    wrong = run(env, "--by", "temperature")
    assert wrong.returncode == 2 and "model or template" in wrong.stderr
    both = run(env, "--user", "sam", "--all-users")
    assert both.returncode == 2 and "not both" in both.stderr

    record(log_of(env), reply("smollm2"), reply("smollm2"))
    alone = "no choice is between different models yet (1 between replies of one model)"
    assert run(env).stdout.strip() == alone
