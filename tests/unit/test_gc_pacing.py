"""Full garbage collections wait until the app is idle, and do happen then."""

from __future__ import annotations

import gc
import time
import weakref

from chatapp.ui.gc_pacing import DUE_AFTER, MANUAL, IdleCollector, pause_for_start_up


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def old_garbage() -> weakref.ref[Node]:
    """A cycle that has reached the oldest generation, then become garbage."""
    node = Node()
    gc.collect(1)  # survivors of a middle-generation collection move to the oldest
    ref = weakref.ref(node)
    del node
    return ref


def make_due() -> None:
    while gc.get_count()[2] < DUE_AFTER:
        gc.collect(1)


def test_full_collections_wait_for_the_app_to_be_idle_and_then_run() -> None:
    busy_at = time.monotonic()
    collector = IdleCollector(lambda: busy_at)
    saved = gc.get_threshold()
    collector.install()
    try:
        assert gc.get_threshold()[2] == MANUAL
        garbage = old_garbage()
        make_due()
        collector.tick()  # someone typed a moment ago
        assert garbage() is not None
        assert collector.collections == 0

        busy_at = time.monotonic() - 5
        collector.tick()
        assert garbage() is None
        assert collector.collections == 1
        collector.tick()  # nothing due any more
        assert collector.collections == 1
    finally:
        collector.uninstall()
    assert gc.get_threshold() == saved
    assert gc.get_freeze_count() == 0


def test_nothing_is_collected_while_starting_until_the_collector_is_installed() -> None:
    collector = IdleCollector(lambda: 0.0)
    pause_for_start_up()
    try:
        node = Node()
        garbage = weakref.ref(node)
        del node
        for _ in range(gc.get_threshold()[0] * 3):
            Node()  # well past the point where a young collection would run
        assert garbage() is not None
        assert not gc.isenabled()

        collector.install()
        assert gc.isenabled()
        assert garbage() is None
    finally:
        collector.uninstall()
        gc.enable()
