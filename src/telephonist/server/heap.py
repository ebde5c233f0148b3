"""The garbage collector's share of a call's latency.

A call makes short-lived objects 50 times a second. At Python's default threshold (700 more
tracked objects than freed) the collector ran about 55 times a second with 350 calls on one
process, and promoted objects that were about to be freed anyway, so a full collection
(every object the process holds, 20 to 90 ms while every call's audio waits) followed every
few seconds, finding nothing to free. Almost all of a call's objects are freed as soon as
they are dropped, so the young generation's threshold is raised: the collector then runs a
few times a minute. What start-up made (the assistant's project, imported modules) lives
until the end and is frozen, so no collection walks it again.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "settle_heap"]

YOUNG_THRESHOLD = 10_000
"""Tracked objects allocated (net of those freed) before a young collection; Python's is 700."""


def settle_heap() -> None:
    """Collect what start-up left over, exempt everything still alive from later
    collections, and collect young objects less often. Call once, after warm-up and
    before the first call."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
