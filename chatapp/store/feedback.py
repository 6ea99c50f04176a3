"""FeedbackRepo: one user's feedback events on disk, one TinyDB file per month.

    <user root>/feedback/
        2026-05.json    the events of May 2026 (UTC), an `events` table
        consent.json    {"training": true|false, "ts": ...}; no file: never asked
        export.key      the secret exports hash user names with (export_key)

An append rewrites only the month's file, so it stays cheap however long the history
grows; reading since a date opens only the months from then on, and a reader can take
them one at a time (events_by_month: an export holds one month, not the log). A month
file that cannot be parsed is moved aside (tinystore.py) and reported; the other months
still load. A record this version cannot read (a newer schema, a damaged field) is
skipped, reported, and kept in its file: an append writes it back untouched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Container, Iterable, Iterator
from operator import attrgetter
from pathlib import Path
from typing import Any

from chatapp.core.feedback.records import FeedbackEvent, InvalidFeedback, Memo
from chatapp.store.errors import CorruptFile, StorageUnavailable, StoreError
from chatapp.store.tinystore import (
    Reporter,
    TinyFile,
    fsync_dir,
    make_private_dir,
    sweep_temp_files,
)

log = logging.getLogger(__name__)

EVENTS_TABLE = "events"
CONSENT_TABLE = "consent"
CONSENT_FILE = "consent.json"
KEY_BYTES = 32
_MONTH_FILE = re.compile(r"(\d{4}-\d{2})\.json")

ProblemReporter = Callable[[StoreError], None]


class UnreadableEvents(StoreError):
    """Records in a month file this version cannot read; they stay in the file."""

    def __init__(self, path: Path, count: int, problem: str) -> None:
        what = "a feedback event was" if count == 1 else f"{count} feedback events were"
        super().__init__(f"{what} skipped in {path} as unreadable ({problem})")
        self.path = path
        self.count = count


def month_of(ts: float) -> str:
    """The month file an event at ts goes in: "2026-05" (UTC, so every machine agrees)."""
    return time.strftime("%Y-%m", time.gmtime(ts))


class FeedbackRepo:
    """One user's feedback events and consent; safe to share between threads and
    processes (each append is one locked, atomic write of one month's file).

    A write that fails because the folder is read-only or full is told to
    on_unavailable before the StorageUnavailable is raised; a file or record that could
    not be read is told to on_problem (and logged), and reading goes on without it.
    """

    def __init__(
        self,
        folder: Path,
        *,
        lock_timeout: float = 10.0,
        on_unavailable: Reporter | None = None,
        on_problem: ProblemReporter | None = None,
    ) -> None:
        self.folder = folder
        self._lock_timeout = lock_timeout
        self._on_unavailable = on_unavailable
        self._on_problem = on_problem
        self._files: dict[str, TinyFile] = {}
        self._files_guard = threading.Lock()
        self._made = False

    # -- events ------------------------------------------------------------------------

    def append(self, event: FeedbackEvent) -> None:
        self._make_folder()
        with self._file(self.month_file(month_of(event.ts)).name).writing() as db:
            db.table(EVENTS_TABLE).insert(event.to_dict())

    def events(
        self, since: float | None = None, *, newest_first: bool = False
    ) -> list[FeedbackEvent]:
        """The events at or after since (all of them when None), oldest first, or newest
        first; only the month files from since on are opened."""
        events = [event for month in self.events_by_month(since) for event in month]
        if newest_first:
            events.reverse()
        return events

    def events_by_month(
        self,
        since: float | None = None,
        *,
        only: Container[str] | None = None,
        kinds: Container[str] | None = None,
    ) -> Iterator[list[FeedbackEvent]]:
        """The events at or after since (all of them when None), one month at a time:
        the oldest month first, each month's events oldest first (ids break ties of
        time), a month without any left out. One month file is read (and held) at a
        time, so a reader that lets each month go holds one month, however long the
        log; each iteration reads the files again. only: the ids of the events wanted,
        kinds: their types (None: all); the other records are not even read as events,
        so reading a few of many again is cheap."""
        first = month_of(since) if since is not None else ""
        for month in self.months():
            if month < first:
                continue
            events = self._read_month(month, only, kinds)
            if since is not None:
                events = [event for event in events if event.ts >= since]
            events.sort(key=attrgetter("ts", "event_id"))
            if events:
                yield events
            del events  # before the next month is read: a reader may have let it go

    def months(self) -> list[str]:
        """The months that have a file, oldest first: ["2026-04", "2026-05"]."""
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        except OSError as error:
            raise StoreError(f"cannot read {self.folder}: {error.strerror or error}") from error
        return sorted(m.group(1) for name in names if (m := _MONTH_FILE.fullmatch(name)))

    def month_file(self, month: str) -> Path:
        return self.folder / f"{month}.json"

    def _read_month(
        self,
        month: str,
        only: Container[str] | None = None,
        kinds: Container[str] | None = None,
    ) -> list[FeedbackEvent]:
        path = self.month_file(month)
        try:
            with self._file(path.name).reading() as db:
                # The parsed file as it is: TinyDB's documents would copy every record twice.
                tables = db.storage.read() or {}
        except StoreError as error:  # CorruptFile: moved aside; the other months still load
            self._report(error)
            return []
        documents: Iterable[Any] = tables.get(EVENTS_TABLE, {}).values()
        if only is not None or kinds is not None:
            documents = [d for d in documents if _wanted(d, only, kinds)]
        events: list[FeedbackEvent] = []
        problems: list[str] = []
        memo = Memo()  # the events of one conversation share turns and replies
        for document in documents:
            try:
                events.append(FeedbackEvent.from_dict(document, memo=memo))
            except InvalidFeedback as problem:
                problems.append(str(problem))
        if problems:
            self._report(UnreadableEvents(path, len(problems), problems[0]))
        return events

    # -- consent -----------------------------------------------------------------------

    def consent(self) -> bool | None:
        """Whether the user said their feedback may be used for training; None: never asked."""
        record = self.consent_record()
        return record[0] if record else None

    def consent_record(self) -> tuple[bool, float] | None:
        """(training, when it was said), or None when never asked (or the file was lost)."""
        try:
            with self._file(CONSENT_FILE).reading() as db:
                documents = db.table(CONSENT_TABLE).all()
        except StoreError as error:
            self._report(error)
            return None
        if not documents:
            return None
        training, ts = documents[-1].get("training"), documents[-1].get("ts")
        if not isinstance(training, bool) or not isinstance(ts, int | float):
            self._report(StoreError(f"{self.folder / CONSENT_FILE} holds no valid answer"))
            return None
        return training, float(ts)

    def set_consent(self, training: bool, *, ts: float | None = None) -> None:
        self._make_folder()
        record: dict[str, Any] = {"training": training, "ts": time.time() if ts is None else ts}
        with self._file(CONSENT_FILE).writing() as db:
            table = db.table(CONSENT_TABLE)
            table.truncate()
            table.insert(record)

    # -- files -------------------------------------------------------------------------

    def _file(self, name: str) -> TinyFile:
        """The TinyFile of folder/name, one per file for the life of the repo: it holds
        the file's lock and TinyDB's caches."""
        with self._files_guard:
            file = self._files.get(name)
            if file is None:
                file = self._files[name] = TinyFile(
                    self.folder / name,
                    lock_timeout=self._lock_timeout,
                    on_unavailable=self._on_unavailable,
                )
            return file

    def _make_folder(self) -> None:
        if self._made:
            return
        try:
            _make_private_dirs(self.folder)
        except StorageUnavailable as error:
            if self._on_unavailable is not None:
                self._on_unavailable(error)
            raise
        sweep_temp_files(self.folder)
        self._made = True

    def _report(self, problem: StoreError) -> None:
        if not isinstance(problem, CorruptFile):  # tinystore logged that one already
            log.warning("%s", problem)
        if self._on_problem is not None:
            self._on_problem(problem)


def export_key(path: Path) -> bytes:
    """The secret at path that exports hash user names with (HMAC-SHA256): made once
    (0600, its folder 0700) and the same ever after, so a user keeps one pseudonym
    across exports. Two processes making it at once agree on the first one written."""
    existing = _read_key(path)
    if existing is not None:
        return existing
    _make_private_dirs(path.parent)
    try:
        _create_exclusively(path, secrets.token_bytes(KEY_BYTES).hex().encode() + b"\n")
    except FileExistsError:
        pass  # another process made it first: use theirs
    except OSError as error:
        raise StorageUnavailable("write", path, error) from error
    key = _read_key(path)
    assert key is not None  # made above, or by the process that won the race
    return key


def _read_key(path: Path) -> bytes | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise StoreError(f"cannot read the export key {path}: {error}") from error
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise StoreError(
            f"the export key {path} is damaged; delete it to make a new one"
            " (user hashes in new exports will then differ from earlier ones)"
        )
    return key


def _make_private_dirs(folder: Path) -> None:
    """folder and each missing parent 0700: mkdir(parents=True) gives parents the umask's mode."""
    missing = [folder, *(parent for parent in folder.parents if not parent.exists())]
    for directory in reversed(missing):
        make_private_dir(directory)


def _create_exclusively(path: Path, payload: bytes) -> None:
    """Write path whole, or raise FileExistsError if it exists: the payload goes to a
    temp file first and is hard-linked into place, which fails rather than replaces."""
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temp_name, path)
        fsync_dir(path.parent)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)


def _wanted(document: object, only: Container[str] | None, kinds: Container[str] | None) -> bool:
    """Whether a stored record is one of those asked for; one that is not even an
    object is left for a full reading to report."""
    if not isinstance(document, dict):
        return False
    event_id, kind = document.get("event_id"), document.get("type")
    return (only is None or (isinstance(event_id, str) and event_id in only)) and (
        kinds is None or (isinstance(kind, str) and kind in kinds)
    )
