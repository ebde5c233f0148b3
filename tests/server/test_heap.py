"""settle_heap: start-up's objects frozen, young collections rarer."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from telephonist.server.heap import YOUNG_THRESHOLD, settle_heap


@pytest.fixture
def restored_gc() -> Iterator[None]:
    """The test process's collector as it was."""
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_gc")
def test_start_up_objects_are_frozen_and_young_collections_rarer() -> None:
    gc.unfreeze()
    kind = type("StartUp", (), {})
    kept: list[object] = [kind() for _ in range(100)]
    _, middle, old = gc.get_threshold()
    settle_heap()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold() == (YOUNG_THRESHOLD, middle, old)
    assert all(not any(o is k for o in gc.get_objects()) for k in kept[:3])  # not walked again


@pytest.mark.usefixtures("restored_gc")
def test_garbage_cycles_made_later_are_still_collected() -> None:
    settle_heap()

    class Node:
        other: object

    a, b = Node(), Node()
    a.other, b.other = b, a
    del a, b
    assert gc.collect() >= 2
