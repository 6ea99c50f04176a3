"""A separate process that writes memories, for the crash and concurrency tests.

It prints `ready`, then one line `<memory id> <text>` each time an add has returned, i.e.
each time the store reported it committed.

    python -m tests.unit.store.memory_writer DATA_DIR USER chaos
    python -m tests.unit.store.memory_writer DATA_DIR USER add COUNT GO_FILE
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from chatapp.core.memory.book import MemoryBook
from chatapp.store.memory import MemoryRepo
from chatapp.store.users import UserDir


def remember(book: MemoryBook, text: str) -> None:
    change = book.add(text)
    assert change.kind == "added", change
    print(change.memory.id, text, flush=True)


def chaos(book: MemoryBook) -> None:
    """What a user does with memory, forever, until the test kills it: new facts, a slot
    that keeps changing, a pin, and an undo now and then."""
    for turn in range(1_000_000):
        remember(book, f"fact {turn} from {os.getpid()}")
        book.add(f"I live in city {turn}", slot="location")
        if turn % 3 == 2:
            book.pin(book.list()[-1].id)
        if turn % 5 == 4:
            book.undo_last()


def add(book: MemoryBook, count: int, go_file: Path) -> None:
    """Add count facts as fast as possible, starting on a signal."""
    while not go_file.exists():
        time.sleep(0.001)
    for number in range(count):
        remember(book, f"fact {number} from {os.getpid()}")


def main(argv: list[str]) -> None:
    data_dir, user, mode, *rest = argv
    book = MemoryBook(MemoryRepo(UserDir(Path(data_dir), user)), user)
    print("ready", flush=True)
    if mode == "chaos":
        chaos(book)
    else:
        count, go_file = rest
        add(book, int(count), Path(go_file))


if __name__ == "__main__":
    main(sys.argv[1:])
