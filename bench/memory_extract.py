"""Memory extractor: precision and recall of the rules, and of the model-based part on the
embedded SmolLM2, on a labelled set of messages (bench/data/memory_extract.jsonl).

Each line of the set is {"message", "facts": [{"slot", "value"}], "split"}: "slot" is the
fact's kind (a slot of slots.py, or likes, dislikes, speaks, programming), "split" is dev
(written with the rules) or heldout (written afterwards and never tuned against). A fact
is labelled when the user states it plainly about themselves, as true now, in a sentence
that is not a question; anything else is a negative.

A predicted fact is correct when its kind and its normalised value match a labelled fact
of the same message (each labelled fact matches once). Values are normalised by
slots.normalise, without a leading "the", with the spellings of one diet made one
("素食者", "vegetarian") and spaces and the words time/zone dropped from time zones.

The model-based part runs on a subset (every n-th message, --model-limit, default 40)
because the embedded model takes about two seconds a message on two cores. Last line: one
JSON object; ok when the rules' precision over the whole set is at least 0.9.

    python bench/memory_extract.py [--model-limit 40] [--no-model]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import _paths  # noqa: F401  (puts the repository on sys.path)

from chatapp.core.memory.candidate import Candidate
from chatapp.core.memory.extract import extract
from chatapp.core.memory.model_extract import ModelExtractor
from chatapp.core.memory.slots import normalise

DATA = Path(__file__).resolve().parent / "data" / "memory_extract.jsonl"
TARGET_PRECISION = 0.9
PASTE_CHARS = 100_000

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_FENCED = re.compile(r"```.*?```", re.DOTALL)
_SAME_DIET = {
    "素食": "vegetarian",
    "素食者": "vegetarian",
    "素食主义者": "vegetarian",
    "吃素": "vegetarian",
    "纯素": "vegan",
    "纯素食者": "vegan",
}


@dataclass(frozen=True, slots=True)
class Row:
    message: str
    facts: list[tuple[str, str]]
    split: str

    @property
    def language(self) -> str:
        text = _FENCED.sub("", self.message)
        cjk, latin = bool(_CJK.search(text)), bool(_LATIN_WORD.search(text))
        return "mixed" if cjk and latin else "zh" if cjk else "en"


def load(path: Path = DATA) -> list[Row]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        facts = [(fact["slot"], fact["value"]) for fact in data["facts"]]
        rows.append(Row(data["message"], facts, data.get("split", "dev")))
    return rows


def normal_value(kind: str, value: str) -> str:
    text = normalise(value).removeprefix("the ")
    if kind == "diet":
        text = _SAME_DIET.get(text, text)
    if kind == "timezone":
        text = re.sub(r"\b(?:time|zone|standard)\b|\s", "", text)
    return text.replace(" ", "") if kind == "pronouns" else text


@dataclass
class Tally:
    predicted: int = 0
    correct: int = 0
    labelled: int = 0

    @property
    def precision(self) -> float | None:
        """None when nothing was predicted."""
        return round(self.correct / self.predicted, 3) if self.predicted else None

    @property
    def recall(self) -> float | None:
        """None when nothing was labelled."""
        return round(self.correct / self.labelled, 3) if self.labelled else None

    def line(self, name: str) -> str:
        return (
            f"  {name:16} precision {_shown(self.precision)} ({self.correct}/{self.predicted})"
            f"  recall {_shown(self.recall)} ({self.correct}/{self.labelled})"
        )


def _shown(ratio: float | None) -> str:
    return "  n/a" if ratio is None else f"{ratio:5.3f}"


@dataclass
class Score:
    total: Tally = field(default_factory=Tally)
    by_kind: dict[str, Tally] = field(default_factory=dict)
    by_language: dict[str, Tally] = field(default_factory=dict)
    by_split: dict[str, Tally] = field(default_factory=dict)
    wrong: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    def add(self, row: Row, candidates: list[Candidate]) -> None:
        wanted = Counter((kind, normal_value(kind, value)) for kind, value in row.facts)
        tallies = [
            self.total,
            self.by_language.setdefault(row.language, Tally()),
            self.by_split.setdefault(row.split, Tally()),
        ]
        for kind, _ in row.facts:
            for tally in [*tallies, self.by_kind.setdefault(kind, Tally())]:
                tally.labelled += 1
        for candidate in candidates:
            kind = candidate.kind or candidate.slot or "free-form"
            key = (kind, normal_value(kind, candidate.value))
            hit = wanted[key] > 0
            wanted[key] -= hit
            for tally in [*tallies, self.by_kind.setdefault(kind, Tally())]:
                tally.predicted += 1
                tally.correct += hit
            if not hit:
                self.wrong.append(f"{row.message[:70]!r} -> {kind}: {candidate.text!r}")
        for (kind, value), count in wanted.items():
            if count > 0:
                self.missed.append(f"{row.message[:70]!r} -> {kind}: {value!r}")

    def report(self, title: str, *, brief: bool = False) -> dict[str, Any]:
        print(title)
        print(self.total.line("all"))
        if not brief:
            self.details()
        return {
            "precision": self.total.precision,
            "recall": self.total.recall,
            "predicted": self.total.predicted,
            "labelled": self.total.labelled,
            "by_split": _figures(self.by_split),
            "by_language": _figures(self.by_language),
        }

    def details(self) -> None:
        for name, tallies in (("split", self.by_split), ("language", self.by_language)):
            print(f" by {name}")
            for key in sorted(tallies):
                print(tallies[key].line(key))
        print(" by kind")
        for key in sorted(self.by_kind):
            print(self.by_kind[key].line(key))
        print(f" wrong ({len(self.wrong)})")
        for line in self.wrong:
            print(f"   {line}")
        print(f" missed ({len(self.missed)})")
        for line in self.missed:
            print(f"   {line}")


def _figures(tallies: dict[str, Tally]) -> dict[str, dict[str, float | None]]:
    return {
        key: {"precision": t.precision, "recall": t.recall} for key, t in sorted(tallies.items())
    }


def score(rows: Iterable[Row], extractor: Callable[[str], list[Candidate]]) -> Score:
    result = Score()
    for row in rows:
        result.add(row, extractor(row.message))
    return result


def timing(rows: list[Row], reps: int = 20) -> dict[str, float]:
    """Microseconds per message of the rules: mean and p95 over the set, a message just
    under the size limit, and a 100 KB paste (skipped by size)."""
    per_message = []
    for row in rows:
        started = time.perf_counter()
        for _ in range(reps):
            extract(row.message)
        per_message.append((time.perf_counter() - started) / reps * 1e6)
    chat = " ".join(row.message for row in rows)
    long_message = chat[:3990]
    paste = (chat * (PASTE_CHARS // len(chat) + 1))[:PASTE_CHARS]
    return {
        "mean_us": round(statistics.fmean(per_message), 1),
        "p95_us": round(statistics.quantiles(per_message, n=20)[-1], 1),
        "max_us": round(max(per_message), 1),
        "near_limit_us": round(_time_once(long_message, reps), 1),
        "paste_100kb_us": round(_time_once(paste, reps), 1),
    }


def _time_once(message: str, reps: int) -> float:
    started = time.perf_counter()
    for _ in range(reps):
        extract(message)
    return (time.perf_counter() - started) / reps * 1e6


async def model_score(rows: list[Row]) -> tuple[Score, float]:
    from chatapp.config import embedded_model
    from chatapp.core.backends.llama_local import LlamaBackend

    config = replace(embedded_model(), n_threads=os.cpu_count(), n_ctx=2048)
    backend = LlamaBackend(config)
    await backend.prepare()
    extractor = ModelExtractor(backend)
    result = Score()
    started = time.perf_counter()
    try:
        for row in rows:
            result.add(row, await extractor.extract(row.message))
    finally:
        await backend.aclose()
    return result, (time.perf_counter() - started) / max(len(rows), 1)


def subset(rows: list[Row], limit: int) -> list[Row]:
    """Every n-th row, so the subset keeps the set's mix of languages and negatives."""
    if limit >= len(rows):
        return rows
    step = len(rows) / limit
    return [rows[int(index * step)] for index in range(limit)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-limit", type=int, default=40)
    parser.add_argument("--no-model", action="store_true")
    args = parser.parse_args()
    rows = load()
    languages = Counter(row.language for row in rows)
    negatives = sum(not row.facts for row in rows)
    print(f"{len(rows)} messages {dict(languages)}, {negatives} with no fact")
    rules = score(rows, extract).report("rules")
    rules["timing"] = timing(rows)
    print(f" time per message (µs): {rules['timing']}")
    figures: dict[str, Any] = {"bench": "memory_extract", "rules": rules}
    if not args.no_model:
        sample = subset(rows, args.model_limit)
        model, seconds = asyncio.run(model_score(sample))
        figures["model"] = model.report(f"model (embedded SmolLM2-135M, {len(sample)} messages)")
        figures["model"]["seconds_per_message"] = round(seconds, 2)
        figures["rules_on_model_subset"] = score(sample, extract).report(
            "rules, same subset", brief=True
        )
        print(f" model: {seconds:.2f} s per message")
    figures["target"] = {"rules_precision": TARGET_PRECISION}
    figures["ok"] = (rules["precision"] or 0.0) >= TARGET_PRECISION
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
