"""Export: writing 100,000 feedback events as a DPO set must cost at most 3× a plain
orjson dump of the same events, and hold less than 2× the memory of one month's events.

Builds one user's log in a temp data dir: 100,000 events over six months (ratings with
reasons, some changed or taken back later; pairwise choices between regenerated
replies, a few ties and all-bad; corrections, some trivial; regenerate and edit events;
contexts of one to three exchanges before the question, now and then none, in English
and Chinese, some with saved memories or an e-mail address in them), all consented.
The month files are written whole through the store's own storage class
(OrjsonStorage.write: orjson, temp file, fsync, os.replace, as FeedbackRepo.append
writes them), so they are what the app leaves on disk, without paying for 100,000
appends. Then, in the same run:

- time: the DPO export (core `export` and `write_export`: both readings of the log,
  rows, validation, redaction, the file and its card) ÷ a plain dump of the same events
  (read each month file with orjson, `orjson.dumps` each event's dict + newline into a
  JSONL file); the best of --rounds rounds of each, taken in turns. For scale, once
  each: the export without redaction, and a dump of the events as the store reads them
  (records checked, FeedbackEvent.to_dict);
- memory: the peak resident memory of the export (ru_maxrss at the end, less the
  resident memory after imports) ÷ the same figure for a process that reads the
  largest month with the store and holds its events.

Each measured action runs in a fresh process (`--child`), so no run warms or fills
memory for the next. The last line is one JSON object for CI.

    python bench/export.py [--events 100000] [--months 6] [--rounds 3] [--dir PATH]
"""

from __future__ import annotations

import argparse
import calendar
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import _paths  # noqa: F401  (the repository root on sys.path)
import orjson
from filelock import FileLock
from memory import ASSISTANT_WORDS, CHINESE_REPLY, USER_MESSAGES, fill

from chatapp.core.feedback.export import UserFeedback, export, write_export
from chatapp.core.feedback.records import (
    DOWN_REASONS,
    UP_REASONS,
    Author,
    Candidate,
    Choice,
    Correction,
    EventType,
    FeedbackEvent,
    Rating,
    Source,
    TemplateRef,
    Turn,
)
from chatapp.core.memory.retrieve import pinned_block
from chatapp.core.models import Memory, new_id
from chatapp.store.feedback import EVENTS_TABLE, FeedbackRepo, month_of
from chatapp.store.tinystore import OrjsonStorage
from chatapp.store.users import UserDir

TARGET_TIME_RATIO = 3.0
TARGET_MEMORY_RATIO = 2.0
USER = "bench"
DAY = 86_400
MODELS = ("smollm2-135m", "qwen2.5-1.5b", "llama3.2-3b")
TEMPLATES = (None, TemplateRef("concise", 2), TemplateRef("explain", 1))
SYSTEM_PROMPTS = ("You are a helpful assistant.", "Be brief.", "你是一个乐于助人的助手。")
CONTACT = "If it helps: write to jane.doe@example.com or look in /home/jane/notes."


# -- a log like a heavy user's ---------------------------------------------------------------


class Episode:
    """One question and what the user did about its replies, as events a few seconds
    to a few minutes apart."""

    def __init__(self, rng: random.Random, start: float) -> None:
        self.rng = rng
        self.ts = start
        self.conversation_id = new_id()
        self.context = self._context()
        self.model = rng.choice(MODELS)
        self.template = rng.choice(TEMPLATES)
        self.events: list[FeedbackEvent] = []

    def _context(self) -> tuple[Turn, ...]:
        rng = self.rng
        system = rng.choice(SYSTEM_PROMPTS)
        if rng.random() < 0.15:
            pinned = [Memory(user=USER, text=fill("I live in {city}", rng), pinned=True)]
            system = f"{system}\n\n{pinned_block(pinned, today=date(2026, 5, 1))}"
        turns = [Turn("system", system)]
        # Mostly a question in a conversation under way; now and then a first question,
        # which other conversations may have asked word for word (rated siblings).
        exchanges = 0 if rng.random() < 0.05 else rng.randint(1, 3)
        for _ in range(exchanges):
            turns += [Turn("user", self.question()), Turn("assistant", self.answer())]
        return (*turns, Turn("user", self.question()))

    def question(self) -> str:
        text = fill(self.rng.choice(USER_MESSAGES), self.rng)
        return f"{text} {CONTACT}" if self.rng.random() < 0.03 else text

    def answer(self) -> str:
        rng = self.rng
        if rng.random() < 0.3:
            return CHINESE_REPLY * rng.randint(1, 3)
        return " ".join(rng.choices(ASSISTANT_WORDS, k=rng.randint(30, 140))).capitalize() + "."

    def reply(self, text: str | None = None, author: Author = Author.MODEL) -> Candidate:
        params = {"temperature": 0.7, "max_tokens": 512}
        content = self.answer() if text is None else text
        return Candidate(new_id(), content, self.model, params, self.template, (), author)

    def record(self, kind: EventType, replies: tuple[Candidate, ...], **parts: Any) -> None:
        self.ts += self.rng.uniform(3, 180)
        explicit = kind in (EventType.RATING, EventType.PAIRWISE, EventType.CORRECTION)
        self.events.append(
            FeedbackEvent(
                user=USER,
                conversation_id=self.conversation_id,
                type=kind,
                source=Source.EXPLICIT if explicit else Source.IMPLICIT,
                context=self.context,
                candidates=replies,
                consent=True,
                app_version="0.1.0",
                ts=self.ts,
                **parts,
            )
        )

    def rate(self, reply: Candidate, thumb: int | None = None) -> None:
        rng = self.rng
        if thumb is None:
            thumb = 1 if rng.random() < 0.6 else -1
        reasons = rng.sample(UP_REASONS if thumb == 1 else DOWN_REASONS, rng.randint(0, 2))
        comment = rng.choice(["", "", "", "good enough", "太长了", "missed the point"])
        self.record(EventType.RATING, (reply,), rating=Rating(thumb, tuple(reasons), comment))

    def play(self) -> list[FeedbackEvent]:
        rng = self.rng
        first = self.reply()
        roll = rng.random()
        if roll < 0.45:
            self.rate(first)
            if rng.random() < 0.08:  # changed their mind, or took it back
                self.record(EventType.RATING, (first,), rating=Rating(rng.choice([1, -1, None])))
        elif roll < 0.8:
            self.versions(first)
        elif roll < 0.92:
            better = first.content.replace("the", "a") + " 另外，请注意细节。"
            trivial = rng.random() < 0.2
            corrected = self.reply(first.content + "." if trivial else better, Author.USER)
            fix = Correction(first.message_id, corrected.message_id, trivial)
            self.record(EventType.CORRECTION, (first, corrected), correction=fix)
        else:
            question = Candidate(new_id(), self.question(), written_by=Author.USER)
            edited = Candidate(new_id(), self.question(), written_by=Author.USER)
            self.record(EventType.EDIT, (question, edited))
        return self.events

    def versions(self, first: Candidate) -> None:
        """Regenerated replies to the same context: rated, or chosen between."""
        rng = self.rng
        replies = [first]
        for _ in range(rng.choice([1, 1, 1, 2])):
            new = self.reply()
            self.record(EventType.REGENERATE, (replies[-1], new))
            replies.append(new)
        if rng.random() < 0.5:
            for reply in replies:
                self.rate(reply)
            return
        shown = [reply.message_id for reply in replies]
        rng.shuffle(shown)
        outcome = rng.random()
        if outcome < 0.1:
            choice = Choice(tie=True, shown_order=tuple(shown))
        elif outcome < 0.15:
            choice = Choice(both_bad=True, shown_order=tuple(shown))
        else:
            preferred = shown[0] if rng.random() < 0.55 else rng.choice(shown)
            choice = Choice(preferred, shown_order=tuple(shown))
        self.record(EventType.PAIRWISE, tuple(replies), choice=choice)


def build_log(data_dir: Path, events: int, months: int, seed: int) -> FeedbackRepo:
    """events feedback events of one user over the last `months` months, written a
    month file at a time; returns the user's repo."""
    rng = random.Random(seed)
    repo = FeedbackRepo(UserDir(data_dir, USER).ensure().feedback)
    repo.set_consent(True)  # makes the folder, as the first answer does
    end = time.time() - DAY
    # An episode makes 1.7 events on average: a few more than needed, the last cut off.
    episodes = int(events / 1.6) + 10
    starts = sorted(rng.uniform(end - months * 30 * DAY, end) for _ in range(episodes))
    pending: dict[str, list[FeedbackEvent]] = {}
    written = 0
    for start in starts:
        if written == events:
            break
        for month in [m for m in pending if m < month_of(start)]:
            write_month(repo, month, pending.pop(month))
        for event in Episode(rng, start).play()[: events - written]:
            pending.setdefault(month_of(event.ts), []).append(event)
            written += 1
    for month, held in pending.items():
        write_month(repo, month, held)
    return repo


def write_month(repo: FeedbackRepo, month: str, events: list[FeedbackEvent]) -> None:
    """One month file as TinyDB's `events` table, in the order appends would leave it."""
    events.sort(key=lambda event: event.ts)
    documents = {str(number): event.to_dict() for number, event in enumerate(events, 1)}
    path = repo.month_file(month)
    OrjsonStorage(path, FileLock(f"{path}.lock")).write({EVENTS_TABLE: documents})


# -- what is measured ------------------------------------------------------------------------


def plain_dump(repo: FeedbackRepo, out: Path) -> None:
    """The baseline: the month files as they are, each event's dict a line."""
    with out.open("wb") as handle:
        for month in repo.months():
            tables = orjson.loads(repo.month_file(month).read_bytes())
            for document in tables[EVENTS_TABLE].values():
                handle.write(orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE))


def store_dump(repo: FeedbackRepo, out: Path) -> None:
    """For comparison: the events as the app reads them (checked records), a line each."""
    with out.open("wb") as handle:
        for month in repo.events_by_month():
            for event in month:
                handle.write(orjson.dumps(event.to_dict(), option=orjson.OPT_APPEND_NEWLINE))


def dpo_export(repo: FeedbackRepo, out: Path, *, redact: bool = True) -> int:
    feedback = [UserFeedback(USER, repo.events_by_month, repo.consent())]
    result = export(feedback, "dpo", redact=redact)
    write_export(result, out)
    return result.report.rows


def hold_largest_month(repo: FeedbackRepo) -> list[FeedbackEvent]:
    """The events of the largest month file, read with the store and held."""
    month = max(repo.months(), key=lambda month: repo.month_file(month).stat().st_size)
    year, number = (int(part) for part in month.split("-"))
    return next(repo.events_by_month(since=calendar.timegm((year, number, 1, 0, 0, 0))))


ACTIONS: dict[str, Callable[[FeedbackRepo, Path], object]] = {
    "plain dump": lambda repo, out: plain_dump(repo, out),
    "store dump": lambda repo, out: store_dump(repo, out),
    "export": lambda repo, out: dpo_export(repo, out),
    "export, no redaction": lambda repo, out: dpo_export(repo, out, redact=False),
    "one month held": lambda repo, out: hold_largest_month(repo),
}


def resident_kib() -> int:
    """The resident memory now (Linux), or the high-water mark elsewhere."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return pages * resource.getpagesize() // 1024


def child(action: str, data_dir: Path) -> None:
    """In a fresh process: run one action once; print its time and how far it raised
    the high-water mark of resident memory above what the process held after imports."""
    repo = FeedbackRepo(UserDir(data_dir, USER).feedback)
    before = resident_kib()
    started = time.perf_counter()
    result = ACTIONS[action](repo, data_dir / "out.jsonl")
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = result if isinstance(result, int) else None
    print(json.dumps({"seconds": seconds, "kib": peak - before, "rows": rows}))


def in_child(action: str, data_dir: Path) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", action, "--dir", str(data_dir)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    figures: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return figures


RATIO = ("plain dump", "export")


def measure(data_dir: Path, rounds: int) -> dict[str, dict[str, Any]]:
    """Each action in a fresh process: the two of the time ratio `rounds` times, in
    turns (the fastest of each counts), the others once."""
    best = {action: in_child(action, data_dir) for action in ACTIONS}
    for _ in range(rounds - 1):
        for action in RATIO:
            figures = in_child(action, data_dir)
            if figures["seconds"] < best[action]["seconds"]:
                best[action] = figures
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3, help="of the plain dump and the export")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=None, help="where to build the data")
    parser.add_argument("--child", choices=ACTIONS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.dir)
        return

    with tempfile.TemporaryDirectory(prefix="chatapp-bench-", dir=args.dir) as temp:
        started = time.perf_counter()
        repo = build_log(Path(temp), args.events, args.months, args.seed)
        size = sum(repo.month_file(month).stat().st_size for month in repo.months())
        print(
            f"built {args.events:,} events in {len(repo.months())} month files"
            f" ({size / 2**20:.0f} MiB) in {time.perf_counter() - started:.1f} s"
        )
        figures = measure(Path(temp), args.rounds)
    for action, measured in figures.items():
        rows = f", {measured['rows']:,} rows" if measured["rows"] is not None else ""
        print(
            f"{action}: {measured['seconds']:.2f} s, peak memory above imports"
            f" {measured['kib'] / 1024:.0f} MiB{rows}"
        )
    plain, store, whole = (figures[a] for a in ("plain dump", "store dump", "export"))
    bare, month = figures["export, no redaction"], figures["one month held"]
    time_ratio = whole["seconds"] / plain["seconds"]
    memory_ratio = whole["kib"] / month["kib"]
    print(f"time ratio export / plain dump: {time_ratio:.2f} (target <= {TARGET_TIME_RATIO})")
    print(
        f"  against the store dump: {whole['seconds'] / store['seconds']:.2f};"
        f" without redaction: {bare['seconds'] / plain['seconds']:.2f}"
        f" ({bare['seconds'] / store['seconds']:.2f} against the store dump)"
    )
    print(f"memory ratio export / one month: {memory_ratio:.2f} (target < {TARGET_MEMORY_RATIO})")

    result = {
        "bench": "export",
        "events": args.events,
        "dpo_rows": whole["rows"],
        "plain_dump_s": round(plain["seconds"], 3),
        "store_dump_s": round(store["seconds"], 3),
        "export_s": round(whole["seconds"], 3),
        "export_no_redaction_s": round(bare["seconds"], 3),
        "time_ratio": round(time_ratio, 3),
        "time_ratio_store": round(whole["seconds"] / store["seconds"], 3),
        "month_peak_mib": round(month["kib"] / 1024, 1),
        "export_peak_mib": round(whole["kib"] / 1024, 1),
        "memory_ratio": round(memory_ratio, 3),
        "targets": {"time_ratio": TARGET_TIME_RATIO, "memory_ratio": TARGET_MEMORY_RATIO},
        "ok": time_ratio <= TARGET_TIME_RATIO and memory_ratio < TARGET_MEMORY_RATIO,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
