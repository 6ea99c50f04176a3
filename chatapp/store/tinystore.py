"""TinyDB storage that survives `kill -9` and is shared safely between processes.

TinyDB's own JSONStorage overwrites its file in place, so a crash mid-write leaves half a
file. Here every write goes to a temp file in the same directory, is fsynced, then
`os.replace`d over the old one: a reader sees the old file or the new one, never a mix.
Writers serialise on a per-file `filelock` and re-read after taking it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import orjson
from tinydb import TinyDB
from tinydb.storages import Storage

from chatapp.store.errors import CorruptFile, StorageUnavailable, StoreBusy, StoreError

if TYPE_CHECKING:
    from filelock import FileLock

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
TEMP_SUFFIX = ".tmp"
LOCK_SUFFIX = ".lock"
LOCK_POLL_INTERVAL = 0.002

Tables = dict[str, dict[str, Any]]


class OrjsonStorage(Storage):
    """One whole JSON file: orjson, atomic replace, 0600, corrupt files moved aside.

    Between `begin()` and `end()` reads come from one parsed snapshot and writes only
    update it; `commit()` writes it once. So several TinyDB operations (insert a message,
    touch the conversation) become one atomic file write.
    """

    def __init__(self, path: Path, lock: WritersLock) -> None:
        super().__init__()
        self.path = path
        self._lock = lock
        self._in_transaction = False
        self._writable = False
        self._snapshot: Tables | None = None
        self._have_snapshot = False
        self._dirty = False

    def read(self) -> Tables | None:
        if self._have_snapshot:
            return self._snapshot
        data = self._load()
        if self._in_transaction:
            self._snapshot, self._have_snapshot = data, True
        return data

    def write(self, data: Tables) -> None:
        if not self._in_transaction:
            write_atomically(self.path, orjson.dumps(data))
            return
        if not self._writable:
            raise RuntimeError(f"write to {self.path} inside a read-only view")
        self._snapshot, self._have_snapshot, self._dirty = data, True, True

    def begin(self, *, writable: bool) -> None:
        self._in_transaction, self._writable = True, writable
        self._snapshot, self._have_snapshot, self._dirty = None, False, False

    def commit(self) -> None:
        if self._dirty and self._snapshot is not None:
            write_atomically(self.path, orjson.dumps(self._snapshot))
        self._dirty = False

    def end(self) -> None:
        self._in_transaction = self._writable = False
        self._snapshot, self._have_snapshot, self._dirty = None, False, False

    def _load(self) -> Tables | None:
        raw = _read_bytes(self.path)
        if raw is None:
            return None
        try:
            return _parse(raw)
        except ValueError:
            return self._quarantine(raw)

    def _quarantine(self, raw: bytes) -> Tables:
        """Move an unparseable file aside and raise CorruptFile; never empty it."""
        try:
            # Under the writers' lock, so we cannot move away a good file a writer just put there.
            with hold(self._lock, self.path):
                current = _read_bytes(self.path)
                if current is None:
                    raise CorruptFile(self.path, None)
                if current != raw:
                    with contextlib.suppress(ValueError):
                        return _parse(current)
                target = corrupt_name(self.path)
                move_file(self.path, target)
        except StorageUnavailable as error:
            raise StoreError(
                f"{self.path} is corrupt and cannot be read; it could not be moved aside "
                f"({error.reason})"
            ) from error
        log.warning("moved corrupt file %s to %s", self.path, target)
        raise CorruptFile(self.path, target)


Reporter = Callable[[StorageUnavailable], None]


class TinyFile:
    """One TinyDB file: consistent lock-free reads, locked read-modify-write transactions.

    A write that fails because the folder is read-only or full is told to `on_unavailable`
    (the Workspace turns saving off) before the StorageUnavailable is raised.
    """

    def __init__(
        self, path: Path, *, lock_timeout: float = 10.0, on_unavailable: Reporter | None = None
    ) -> None:
        self.path = path
        self._on_unavailable = on_unavailable
        self._lock = WritersLock(path, lock_timeout)
        # The TinyDB object and its snapshot are shared by this process's threads: one at a time.
        self._guard = threading.RLock()
        self._db = TinyDB(path, lock=self._lock, storage=OrjsonStorage)
        self._storage = cast(OrjsonStorage, self._db.storage)

    def exists(self) -> bool:
        return self.path.exists()

    @contextlib.contextmanager
    def reading(self) -> Iterator[TinyDB]:
        """A snapshot view; no lock needed because files are only ever replaced whole."""
        with self._guard:
            self._start(writable=False)
            try:
                yield self._db
            finally:
                self._storage.end()

    @contextlib.contextmanager
    def writing(self) -> Iterator[TinyDB]:
        """Lock, re-read, let the caller change tables, then write once (or not at all on error)."""
        with self._reporting(), self._guard, hold(self._lock, self.path):
            self._start(writable=True)
            try:
                yield self._db
                self._storage.commit()
            finally:
                self._storage.end()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the writers' lock without a transaction, e.g. to move the file."""
        with self._reporting(), self._guard, hold(self._lock, self.path):
            yield

    @contextlib.contextmanager
    def _reporting(self) -> Iterator[None]:
        try:
            yield
        except StorageUnavailable as error:
            if self._on_unavailable is not None:
                self._on_unavailable(error)
            raise

    def _start(self, *, writable: bool) -> None:
        # Another process may have rewritten the file since our last look: drop TinyDB's
        # query caches and its remembered next id, or an insert could reuse an id it took.
        for table in self._db._tables.values():
            table.clear_cache()
            table._next_id = None
        self._storage.begin(writable=writable)


class WritersLock:
    """The lock a file's writers take (FILE.lock beside it), made when first taken: reads
    need none, and the first screen only reads (filelock takes a while to import)."""

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = Path(f"{path}{LOCK_SUFFIX}")
        self.timeout = timeout

    @functools.cached_property
    def file_lock(self) -> FileLock:
        from filelock import FileLock

        return FileLock(self.path, timeout=self.timeout, mode=FILE_MODE)


@contextlib.contextmanager
def hold(lock: WritersLock, path: Path) -> Iterator[None]:
    """Acquire a file lock, turning a timeout into a one-line StoreBusy."""
    from filelock import Timeout

    file_lock = lock.file_lock
    try:
        # filelock polls; its default 50 ms would let a busy writer starve a waiting one.
        file_lock.acquire(poll_interval=LOCK_POLL_INTERVAL)
    except Timeout:
        raise StoreBusy(path, lock.timeout) from None
    except OSError as error:
        # The lock file cannot be made: a read-only or full folder.
        raise StorageUnavailable("lock", path, error) from error
    try:
        yield
    finally:
        file_lock.release()


def write_atomically(path: Path, payload: bytes) -> None:
    """Replace path with payload so that a crash at any moment leaves old or new, whole."""
    stamp = _next_mtime_ns(path)
    with replacing(path) as handle:
        handle.write(payload)
        handle.flush()
        os.utime(handle.fileno(), ns=(stamp, stamp))


@contextlib.contextmanager
def replacing(path: Path, buffering: int = -1) -> Iterator[BinaryIO]:
    """A file to write path's new content to, as it comes: a temp file beside path, put
    in its place when the block ends (a crash leaves old or new, whole), removed if the
    block raises. OSError becomes StorageUnavailable."""
    try:
        # mkstemp creates the file 0600 and in the same directory, so os.replace is atomic.
        fd, temp_name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX
        )
        try:
            with os.fdopen(fd, "wb", buffering=buffering) as handle:
                yield handle
                handle.flush()
                # fsync before replace, or a crash can leave an empty file under the real name.
                os.fsync(handle.fileno())
            os.replace(temp_name, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
            raise
        fsync_dir(path.parent)
    except OSError as error:
        raise StorageUnavailable("write", path, error) from error


def move_file(source: Path, target: Path) -> None:
    """Rename durably: both directories are fsynced so the move survives a power cut."""
    try:
        os.replace(source, target)
        fsync_dir(target.parent)
        if source.parent != target.parent:
            fsync_dir(source.parent)
    except OSError as error:
        raise StorageUnavailable(f"move {source} to", target, error) from error


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_private_dir(path: Path) -> None:
    """Create path (0700) if missing; an existing directory keeps its mode."""
    try:
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    except OSError as error:
        raise StorageUnavailable("create", path, error) from error


def sweep_temp_files(directory: Path, older_than: float = 3600.0) -> None:
    """Delete temp files left by writers killed mid-write; live ones are seconds old."""
    cutoff = time.time() - older_than
    # Best effort: a read-only folder keeps its leftovers until it is writable again.
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX):
                with contextlib.suppress(OSError):
                    if entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)


def _next_mtime_ns(path: Path) -> int:
    # Kernel timestamps are coarse (a few ms), and the conversation index trusts
    # (mtime_ns, size) to tell file versions apart: give every version a later mtime.
    try:
        previous = path.stat().st_mtime_ns
    except FileNotFoundError:
        previous = 0
    return max(time.time_ns(), previous + 1)


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StoreError(f"cannot read {path}: {error.strerror or error}") from error


def _parse(raw: bytes) -> Tables:
    """TinyDB's shape: {table: {doc_id: document}}; anything else is corrupt."""
    data = orjson.loads(raw)
    if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
        raise ValueError("not a TinyDB document")
    return data


def corrupt_name(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    number = 1
    while target.exists():
        number += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{number}")
    return target
