"""A virtual clock: time moves only when a test calls ``advance``."""

from __future__ import annotations

import asyncio
import heapq
import itertools


class VirtualClock:
    """`Clock` whose sleeps complete when the test advances time past their deadline."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._ids = itertools.count()

    def now(self) -> float:
        """Virtual seconds."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock is advanced ``seconds`` past now."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + max(0.0, seconds), next(self._ids), future))
        await future

    @property
    def pending(self) -> int:
        """Sleeps not yet due (cancelled ones excluded)."""
        return sum(1 for _, _, f in self._sleepers if not f.done())

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking each due sleeper in deadline order."""
        await _settle()  # timers armed just now register their sleeps first
        target = self._now + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            self._now = max(self._now, deadline)
            if not future.done():
                future.set_result(None)
                await _settle()
        self._now = target


async def _settle() -> None:
    """Let ready tasks run a few steps (no time passes)."""
    for _ in range(5):
        await asyncio.sleep(0)
