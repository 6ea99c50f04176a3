"""Python's full garbage collections, moved to moments when nobody waits on the screen.

A Textual screen that streams a long reply holds hundreds of thousands of objects, and
CPython's automatic oldest-generation collection walks all of them: 100-250 ms with the
event loop stopped, many times during one long reply, each a key typed meanwhile that
shows that much later. The young generations still collect as usual (they are quick);
the full collection runs when the app is idle: nothing streaming, no key for a while.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

# Automatic full collections, practically never (CPython counts young collections).
MANUAL = 10**9
# The app counts as idle this long after the last key or streamed token.
QUIET = 1.0
# As CPython would: a full collection once this many middle-generation collections ran.
DUE_AFTER = 10


def pause_for_start_up() -> None:
    """No collections while the app starts, until IdleCollector.install. What start-up
    makes (modules, classes, styles, the first screen) lives as long as the app, so
    collecting it young frees nothing: about 115 collections and 30 ms of a 2-core
    start-up before the first frame (measured)."""
    gc.disable()


class IdleCollector:
    """Install on mount, uninstall on unmount (the thresholds are process-wide)."""

    def __init__(self, busy: Callable[[], float]) -> None:
        """busy() says when the app was last busy (time.monotonic(); 0 for never)."""
        self.busy = busy
        self._saved: tuple[int, int, int] | None = None
        self.collections = 0

    def install(self) -> None:
        """Freeze what exists at start-up (modules, styles, the first screen: they live
        as long as the app) and take over the full collections."""
        if self._saved is not None:
            return
        gc.collect()
        gc.freeze()
        young, middle, _ = self._saved = gc.get_threshold()
        gc.set_threshold(young, middle, MANUAL)
        gc.enable()  # after pause_for_start_up

    def uninstall(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
            gc.unfreeze()

    def tick(self) -> None:
        """Call about once a second: collects when one is due and the app is idle."""
        if self._saved is None or gc.get_count()[2] < DUE_AFTER:
            return
        if time.monotonic() - self.busy() < QUIET:
            return
        gc.collect()
        self.collections += 1
