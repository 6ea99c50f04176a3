"""The leaderboard: models, or template versions, ranked by the user's pairwise choices.

What counts: the latest choice among each set of replies (signals.latest_choices), so a
changed choice counts once. Each choice gives every pair of different entities in it at
most one result: the preferred reply's entity beats each other entity shown; a tie, and
an all-bad choice, is a tie between every pair (as Chatbot Arena counts "both bad").
Replies of the same entity are not compared with each other.

The fit is Bradley–Terry, P(i beats j) = γi / (γi + γj), with a tie counted as half a
win to each side. A prior of one virtual tie against an opponent of strength 1 keeps an
entity that always wins or always loses finite, and pulls entities seen only a few
times towards the middle. The strengths that make the results and the prior most likely
are found by Newton's method on the log-strengths, to convergence: the Hessian is needed
for the intervals anyway, and the MM iteration (Hunter 2004) converges linearly, which
with a weak prior took thousands of rounds for three models. Unlike an Elo table, the fit
reads all results at once: the order of the votes does not change it.

Scores are on the Elo scale: 400·log10 γ, centred so that the average entity is at 1000;
200 points apart is about a 76% chance of being preferred. The 95% interval of each score
is ±1.96 standard errors from the observed Fisher information of the log-strengths (the
prior included), for the score as set against the average of all entities.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from itertools import combinations
from typing import Any

from chatapp.core.feedback.records import Candidate, FeedbackEvent
from chatapp.core.feedback.signals import latest_choices

CENTRE = 1000.0
ELO_PER_LOG = 400 / math.log(10)
Z95 = 1.959963984540054
# One virtual tie against an opponent of strength 1: enough to keep the fit finite,
# little enough that a few real choices outweigh it.
PRIOR_GAMES = 1.0
TOLERANCE = 1e-10
MAX_STEPS = 100
UNKNOWN_MODEL = "unknown"
NO_TEMPLATE = "(no template)"
METHOD = "Bradley–Terry, a tie half a win to each side; ± is a 95% interval"


class Grouping(StrEnum):
    """What the leaderboard ranks."""

    MODEL = "model"
    TEMPLATE = "template"


def entity_of(reply: Candidate, by: Grouping) -> str:
    """The model that made reply, or its template version: "name v3", "name (built-in)"."""
    if by == Grouping.MODEL:
        return reply.model or UNKNOWN_MODEL
    if reply.template is None:
        return NO_TEMPLATE
    if reply.template.version is None:
        return f"{reply.template.name} (built-in)"
    return str(reply.template)


@dataclass(frozen=True, slots=True)
class Standing:
    """One entity's row: its score and 95% interval (Elo scale), and its results."""

    entity: str
    score: float
    ci_low: float
    ci_high: float
    wins: int
    losses: int
    ties: int

    @property
    def comparisons(self) -> int:
        return self.wins + self.losses + self.ties

    @property
    def margin(self) -> float:
        """Half the interval: the score is score ± margin."""
        return (self.ci_high - self.ci_low) / 2

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "score": round(self.score, 1),
            "ci_low": round(self.ci_low, 1),
            "ci_high": round(self.ci_high, 1),
            "wins": self.wins,
            "losses": self.losses,
            "ties": self.ties,
            "comparisons": self.comparisons,
        }


@dataclass(frozen=True, slots=True)
class Leaderboard:
    """Standings best first. choices: the latest choices read; compared: those of them
    between replies of different entities (the others say nothing here)."""

    by: Grouping
    standings: tuple[Standing, ...]
    choices: int
    compared: int

    @property
    def headers(self) -> tuple[str, ...]:
        return ("#", str(self.by), "score ± 95%", "W/L/T", "n")

    def table(self) -> list[tuple[str, ...]]:
        """The standings as the CLI and the TUI show them, under headers."""
        return [
            (
                str(rank),
                standing.entity,
                f"{standing.score:.0f} ± {standing.margin:.0f}",
                f"{standing.wins}/{standing.losses}/{standing.ties}",
                str(standing.comparisons),
            )
            for rank, standing in enumerate(self.standings, 1)
        ]

    def summary(self) -> str:
        """How many choices the table is made of (METHOD says how)."""
        noun = "choice" if self.choices == 1 else "choices"
        return f"{self.compared} of {self.choices} {noun} between different {self.by}s"

    def to_dict(self) -> dict[str, Any]:
        return {
            "by": str(self.by),
            "choices": self.choices,
            "compared": self.compared,
            "method": METHOD,
            "standings": [
                {"rank": rank} | standing.to_dict()
                for rank, standing in enumerate(self.standings, 1)
            ],
        }


@dataclass(slots=True)
class HeadToHead:
    """The results between two entities, first and second in name order."""

    first_wins: int = 0
    second_wins: int = 0
    ties: int = 0

    @property
    def games(self) -> int:
        return self.first_wins + self.second_wins + self.ties


Pair = tuple[str, str]


def leaderboard(events: Iterable[FeedbackEvent], by: Grouping = Grouping.MODEL) -> Leaderboard:
    """The entities of the latest pairwise choices in events, ranked best first."""
    choices = latest_choices(events)
    results: dict[Pair, HeadToHead] = {}
    compared = 0
    for event in choices:
        outcomes = choice_results(event, by)
        compared += bool(outcomes)
        for pair, winner in outcomes.items():
            record = results.setdefault(pair, HeadToHead())
            if winner is None:
                record.ties += 1
            elif winner == pair[0]:
                record.first_wins += 1
            else:
                record.second_wins += 1
    return Leaderboard(by, standings(results), len(choices), compared)


def choice_results(event: FeedbackEvent, by: Grouping) -> dict[Pair, str | None]:
    """Each pair of different entities in a choice (in name order) → the winner, or None
    for a tie; a choice among replies of one entity gives none."""
    assert event.choice is not None
    entities = sorted({entity_of(reply, by) for reply in event.candidates})
    preferred = event.choice.preferred
    if preferred is None:  # a tie, or all bad: equally good, or equally bad
        return {pair: None for pair in combinations(entities, 2)}
    winner = entity_of(event.candidate(preferred), by)
    return {
        (min(winner, other), max(winner, other)): winner for other in entities if other != winner
    }


def standings(results: dict[Pair, HeadToHead]) -> tuple[Standing, ...]:
    """Fit the results and turn them into rows, best first. Entities and pairs are read
    in name order, so the same results always give the same numbers to the last bit."""
    entities = sorted({entity for pair in results for entity in pair})
    index = {entity: number for number, entity in enumerate(entities)}
    games = [
        (index[first], index[second], record) for (first, second), record in sorted(results.items())
    ]
    log_strengths = fit(len(entities), games)
    spreads = centred_deviations(information(log_strengths, games))
    mean = math.fsum(log_strengths) / len(entities) if entities else 0.0
    rows = []
    for number, entity in enumerate(entities):
        score = CENTRE + ELO_PER_LOG * (log_strengths[number] - mean)
        margin = Z95 * ELO_PER_LOG * spreads[number]
        wins, losses, ties = tally(entity, results)
        rows.append(Standing(entity, score, score - margin, score + margin, wins, losses, ties))
    return tuple(sorted(rows, key=lambda row: (-row.score, row.entity)))


def tally(entity: str, results: dict[Pair, HeadToHead]) -> tuple[int, int, int]:
    """(wins, losses, ties) of entity."""
    wins = losses = ties = 0
    for (first, second), record in results.items():
        if entity == first:
            wins, losses = wins + record.first_wins, losses + record.second_wins
        elif entity == second:
            wins, losses = wins + record.second_wins, losses + record.first_wins
        else:
            continue
        ties += record.ties
    return wins, losses, ties


Games = list[tuple[int, int, HeadToHead]]


def fit(count: int, games: Games) -> list[float]:
    """The log-strengths of count entities that make games (and the prior) most likely,
    by Newton's method; a step that would lower the likelihood is halved until it does not."""
    log_strengths = [0.0] * count
    likelihood = log_likelihood(log_strengths, games)
    for _ in range(MAX_STEPS):
        step = solve(
            information(log_strengths, games), [[g] for g in gradient(log_strengths, games)]
        )
        size = 1.0
        while True:
            tried = [
                theta + size * change for theta, [change] in zip(log_strengths, step, strict=True)
            ]
            tried_likelihood = log_likelihood(tried, games)
            if tried_likelihood >= likelihood or size < TOLERANCE:
                break
            size /= 2
        moved = max((abs(size * change) for [change] in step), default=0.0)
        log_strengths, likelihood = tried, tried_likelihood
        if moved < TOLERANCE:
            break
    return log_strengths


def log_likelihood(log_strengths: list[float], games: Games) -> float:
    """Of the games, a tie half a win to each side, and of one virtual tie per entity
    against an opponent of log-strength 0."""
    total = [PRIOR_GAMES / 2 * (log_sigmoid(t) + log_sigmoid(-t)) for t in log_strengths]
    for first, second, record in games:
        difference = log_strengths[first] - log_strengths[second]
        total.append((record.first_wins + record.ties / 2) * log_sigmoid(difference))
        total.append((record.second_wins + record.ties / 2) * log_sigmoid(-difference))
    return math.fsum(total)


def gradient(log_strengths: list[float], games: Games) -> list[float]:
    """Of log_likelihood: each entity's wins less the wins expected of it."""
    slopes = [PRIOR_GAMES * (0.5 - sigmoid(theta)) for theta in log_strengths]
    for first, second, record in games:
        expected = record.games * sigmoid(log_strengths[first] - log_strengths[second])
        surplus = record.first_wins + record.ties / 2 - expected
        slopes[first] += surplus
        slopes[second] -= surplus
    return slopes


def information(log_strengths: list[float], games: Games) -> list[list[float]]:
    """The observed Fisher information of the log-strengths: minus the Hessian of
    log_likelihood, a game between i and j adding p(1 - p) at ii and jj, minus it at ij."""
    count = len(log_strengths)
    matrix = [[0.0] * count for _ in range(count)]
    for number, theta in enumerate(log_strengths):
        matrix[number][number] += PRIOR_GAMES * bernoulli_variance(theta)
    for first, second, record in games:
        weight = record.games * bernoulli_variance(log_strengths[first] - log_strengths[second])
        matrix[first][first] += weight
        matrix[second][second] += weight
        matrix[first][second] -= weight
        matrix[second][first] -= weight
    return matrix


def sigmoid(difference: float) -> float:
    """The chance of winning, 1 / (1 + e^-difference)."""
    if difference >= 0:
        return 1 / (1 + math.exp(-difference))
    ratio = math.exp(difference)
    return ratio / (1 + ratio)


def log_sigmoid(difference: float) -> float:
    if difference >= 0:
        return -math.log1p(math.exp(-difference))
    return difference - math.log1p(math.exp(difference))


def bernoulli_variance(difference: float) -> float:
    chance = sigmoid(difference)
    return chance * (1 - chance)


def centred_deviations(info: list[list[float]]) -> list[float]:
    """The standard error of each log-strength less the mean of all of them: √(aᵀ C a)
    with C the inverse of info and a = eᵢ - 1/n."""
    count = len(info)
    contrasts = [
        [(1.0 if row == column else 0.0) - 1 / count for column in range(count)]
        for row in range(count)
    ]
    solved = solve(info, contrasts)
    return [
        math.sqrt(max(math.fsum(contrasts[row][i] * solved[row][i] for row in range(count)), 0.0))
        for i in range(count)
    ]


def solve(matrix: list[list[float]], right: list[list[float]]) -> list[list[float]]:
    """X with matrix·X = right, by Gauss–Jordan elimination. The information matrix is
    strictly diagonally dominant (the prior adds to the diagonal alone), so no pivoting
    is needed."""
    count = len(matrix)
    rows = [[*row, *extra] for row, extra in zip(matrix, right, strict=True)]
    for column in range(count):
        pivot = rows[column][column]
        rows[column] = [value / pivot for value in rows[column]]
        for number in range(count):
            factor = rows[number][column]
            if number != column and factor != 0.0:
                rows[number] = [
                    value - factor * lead
                    for value, lead in zip(rows[number], rows[column], strict=True)
                ]
    return [row[count:] for row in rows]
