"""The garbage collector's share of a call's latency.

A call makes short-lived objects 50 times a second. At Python's default threshold (700 more
tracked objects than freed) the collector ran about 55 times a second with 350 calls on one
process, and promoted objects that were about to be freed anyway, so a full collection
(every object the process holds, 20 to 90 ms while every call's audio waits) followed every
few seconds, finding nothing to free. Almost all of a call's objects are freed as soon as
they are dropped, so the young generation's threshold is raised: the collector then runs a
few times a minute. What start-up made (the assistant's project, imported modules) lives
until the end and is frozen, so no collection walks it again.

An ended call's objects refer to one another (the session, its listener, their callbacks), so
only a full collection frees them, and with young collections rare Python's own rule would
start one only after many minutes: a 5-minute soak of 100 calls grew by 14 MB. So a full
collection also runs once a minute: one pause a minute instead of one every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator

__all__ = ["FULL_COLLECTION_EVERY_S", "YOUNG_THRESHOLD", "settled_heap"]

YOUNG_THRESHOLD = 10_000
"""Tracked objects allocated (net of those freed) before a young collection; Python's is 700."""

FULL_COLLECTION_EVERY_S = 60.0
"""How often ended calls' objects are freed (a full collection of all but start-up's)."""


@contextlib.asynccontextmanager
async def settled_heap(every_s: float = FULL_COLLECTION_EVERY_S) -> AsyncIterator[None]:
    """While serving: start-up's objects frozen, young collections rarer, a full collection
    every ``every_s``. Enter once the models are loaded, before the first call; on exit the
    collector is as it was."""
    gc.collect()
    gc.freeze()
    threshold = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, *threshold[1:])
    sweeping = asyncio.create_task(_collect_every(every_s))
    try:
        yield
    finally:
        sweeping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeping
        gc.set_threshold(*threshold)
        gc.unfreeze()


async def _collect_every(seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        gc.collect()
