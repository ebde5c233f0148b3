"""settled_heap: start-up's objects frozen, young collections rarer, ended calls swept."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from telephonist.server.heap import YOUNG_THRESHOLD, settled_heap


@pytest.fixture
def no_automatic_collection() -> Iterator[None]:
    """Only explicit collections free cycles (so a test sees who freed them)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Node:
    """Half of a reference cycle."""

    other: object


def drop_a_cycle(freed: asyncio.Event) -> None:
    """Make two objects that refer to each other and drop them: only the collector frees
    them, and ``freed`` is set when it does."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    weakref.finalize(a, freed.set)


async def test_start_up_objects_are_frozen_and_young_collections_rarer() -> None:
    gc.unfreeze()
    kind = type("StartUp", (), {})
    kept: list[object] = [kind() for _ in range(100)]
    before = gc.get_threshold()
    async with settled_heap():
        assert gc.get_freeze_count() >= len(kept)
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
        assert not any(o is kept[0] for o in gc.get_objects())  # not walked again
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


@pytest.mark.usefixtures("no_automatic_collection")
async def test_cycles_made_while_serving_are_freed_by_the_periodic_collection() -> None:
    freed = asyncio.Event()
    async with settled_heap(every_s=0.01):
        drop_a_cycle(freed)
        await asyncio.wait_for(freed.wait(), timeout=5)


@pytest.mark.usefixtures("no_automatic_collection")
async def test_without_the_periodic_collection_such_a_cycle_stays() -> None:
    """The control: the same cycle, while the loop runs but no sweep is due, stays."""
    freed = asyncio.Event()
    async with settled_heap(every_s=3600):
        drop_a_cycle(freed)
        for _ in range(20):
            await asyncio.sleep(0)
        assert not freed.is_set()
    gc.collect()
    assert freed.is_set()
