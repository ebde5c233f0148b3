"""The injected clock: every timeout and timestamp in a call goes through it, so tests run in
virtual time and never sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

__all__ = ["Clock", "SystemClock", "Timer"]


class Clock(Protocol):
    """Monotonic seconds and a way to wait for them."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of real time."""
        await asyncio.sleep(seconds)


class Timer:
    """A restartable one-shot timer that runs ``callback`` after a delay on ``clock``."""

    def __init__(self, clock: Clock, callback: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._clock = clock
        self._callback = callback
        self._task: asyncio.Task[None] | None = None
        self._firing: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        """True while armed and not yet fired."""
        return self._task is not None and not self._task.done()

    def start(self, seconds: float) -> None:
        """(Re)arm the timer."""
        self.cancel()
        self._task = asyncio.create_task(self._run(seconds))

    def cancel(self) -> None:
        """Disarm without firing."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None

    async def _run(self, seconds: float) -> None:
        await self._clock.sleep(seconds)
        self._firing, self._task = self._task, None  # keep a reference while the callback runs
        await self._callback()
