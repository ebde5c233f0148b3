"""Scoring turns for many calls at once, off the event loop.

Calls ask `TurnScorer.score` for one clip each. Requests that arrive within ``gather_s`` of
the first, or while an inference runs, go into one ``session.run`` of batch N: a lone call
waits ``gather_s`` (a few ms) more, two hundred calls pausing at once share a few inferences
instead of queueing two hundred. Inference (features and model) runs on ``workers`` threads
(onnxruntime and numpy's FFT release the GIL), so sockets keep being served meanwhile.

On a CPU the model's cost grows with the batch (`benchmarks/turn_model.py`): batching saves
thread hops and per-call overhead, not arithmetic. So a batch is capped (``max_batch``) and a
request that waited ``deadline_s`` for a worker is refused (`ProviderError`) rather than
answered late: its call then lets silence decide that pause, as without a model.

The model costs tens of ms of CPU per decision, so a process with hundreds of calls pausing
every few seconds would spend cores on it and starve the calls themselves. ``max_cpu`` caps
its share (seconds of inference per second, a token bucket over about a second): over it, a
request is refused at once (`TurnScorerBusy`) and that pause, too, is left to silence. The
calls keep their per-call cost; the model judges as many pauses as the budget allows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from telephonist.errors import ProviderError

__all__ = ["BatchTurnModel", "TurnBatcher", "TurnScore", "TurnScorer", "TurnScorerBusy"]

log = logging.getLogger(__name__)


class TurnScorerBusy(ProviderError):
    """The scorer spent its CPU budget (``turn.max_cpu``): silence decides this pause."""

    def __init__(self) -> None:
        super().__init__("turn", "over its CPU budget (turn.max_cpu)", retryable=True)


@dataclass(frozen=True, slots=True)
class TurnScore:
    """How complete the turn sounds, and how long the answer took."""

    probability: float
    ms: float
    """From the request to the answer (batching wait included)."""
    batch: int = 1
    """How many calls' clips shared the inference."""


class TurnScorer(Protocol):
    """The seam the call codes against (tests script it)."""

    async def warm_up(self) -> None:
        """Load the model before the first call (raises `ConfigError` if it cannot)."""

    async def score(self, clip: bytes) -> TurnScore:
        """Score mu-law 8 kHz ``clip``, the turn so far (raises `ProviderError`)."""

    def close(self) -> None:
        """Release worker threads (at shutdown)."""


class BatchTurnModel(Protocol):
    """What the batcher needs of a model (`SmartTurnModel`)."""

    def load(self) -> None: ...

    def completeness(self, clips: list[bytes]) -> list[float]: ...


_Request = tuple[bytes, "asyncio.Future[TurnScore]", float]


class TurnBatcher:
    """A `TurnScorer` shared by every call of a process."""

    def __init__(
        self,
        model: BatchTurnModel,
        *,
        gather_s: float = 0.005,
        workers: int = 1,
        max_batch: int = 8,
        deadline_s: float = 0.5,
        max_cpu: float | None = None,
        now: Callable[[], float] = time.perf_counter,
    ) -> None:
        """``now``: the clock of deadlines and of the CPU budget (injected in tests)."""
        self.model = model
        self._now = now
        self._max_cpu = max_cpu
        self._tokens = max_cpu or 0.0
        """Seconds of inference still allowed (refilled at ``max_cpu`` per second, up to
        ``max_cpu``; it goes below zero by the inference that overspent it)."""
        self._refilled = self._now()
        self._gather = gather_s
        self._deadline = deadline_s
        self._max_batch = max_batch
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="turn")
        self._free = asyncio.Semaphore(workers)
        self._pending: list[_Request] = []
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0
        self.refused = 0
        """Requests refused because they waited ``deadline_s`` (the model is overloaded)."""
        self.over_budget = 0
        """Requests refused at once because the model had spent its CPU budget."""

    async def warm_up(self) -> None:
        """Load (and verify) the model off the event loop, then run one inference so the
        first caller does not pay for onnxruntime's first-run set-up."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self.model.load)
        await loop.run_in_executor(self._executor, self.model.completeness, [b"\xff" * 8000])

    async def score(self, clip: bytes) -> TurnScore:
        """Score ``clip`` in the next batch (`TurnScorerBusy` when over the CPU budget)."""
        if not self._within_budget():
            self.over_budget += 1
            raise TurnScorerBusy()
        future: asyncio.Future[TurnScore] = asyncio.get_running_loop().create_future()
        self._pending.append((clip, future, self._now()))
        if self._runner is None:
            self._runner = asyncio.create_task(self._run())
        return await future

    def _within_budget(self) -> bool:
        if self._max_cpu is None:
            return True
        now = self._now()
        refill = (now - self._refilled) * self._max_cpu
        self._tokens = min(self._max_cpu, self._tokens + refill)
        self._refilled = now
        return self._tokens > 0

    def _timed(self, clips: list[bytes]) -> tuple[list[float], float]:
        """The model's scores, and the seconds they took (on the worker thread)."""
        began = self._now()
        scores = self.model.completeness(clips)
        return scores, self._now() - began

    async def _run(self) -> None:
        try:
            await asyncio.sleep(self._gather)  # let other calls' requests join
            while self._pending:
                await self._free.acquire()  # requests keep joining while all workers are busy
                self._refuse_late()
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                if not batch:
                    self._free.release()
                    continue
                task = asyncio.create_task(self._infer(batch))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        finally:
            self._runner = None

    def _refuse_late(self) -> None:
        """Fail the requests that waited too long: their answer would come too late."""
        late_before = self._now() - self._deadline
        late = [r for r in self._pending if r[2] < late_before]
        if not late:
            return
        self._pending = [r for r in self._pending if r[2] >= late_before]
        self.refused += len(late)
        log.warning("turn.overloaded: %d requests waited over %.1f s", len(late), self._deadline)
        error = ProviderError("turn", "too busy to answer in time", retryable=True)
        for _, future, _ in late:
            if not future.done():
                future.set_exception(error)

    async def _infer(self, batch: list[_Request]) -> None:
        loop = asyncio.get_running_loop()
        try:
            clips = [clip for clip, _, _ in batch]
            scores, spent = await loop.run_in_executor(self._executor, self._timed, clips)
            self._tokens -= spent
        except Exception as exc:  # every waiting call hears of it; none stalls
            log.exception("turn.score_failed")
            error = ProviderError("turn", f"scoring failed: {exc}", retryable=True)
            for _, future, _ in batch:
                if not future.done():
                    future.set_exception(error)
            return
        finally:
            self._free.release()
        self.batches += 1
        done = self._now()
        for (_, future, asked), probability in zip(batch, scores, strict=True):
            if not future.done():
                ms = round((done - asked) * 1000, 1)
                future.set_result(TurnScore(probability, ms, len(batch)))

    def close(self) -> None:
        """Stop the worker threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)
