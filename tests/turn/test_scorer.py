"""The turn batcher: requests from many calls share one inference on a worker thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from telephonist.errors import ProviderError
from telephonist.turn.scorer import TurnBatcher, TurnScorerBusy


class CountingModel:
    """Scores each clip by its length; records the batches and the thread they ran on."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[int] = []
        self.threads: set[str] = set()
        self.fail = fail
        self.loaded = False

    def load(self) -> None:
        self.loaded = True

    def completeness(self, clips: list[bytes]) -> list[float]:
        self.threads.add(threading.current_thread().name)
        if self.fail:
            raise RuntimeError("model broke")
        self.batches.append(len(clips))
        return [len(clip) / 1000 for clip in clips]


async def test_concurrent_requests_share_one_inference() -> None:
    """Twenty calls pausing together get one batch of twenty, each its own score, off the
    event loop's thread."""
    model = CountingModel()
    batcher = TurnBatcher(model, gather_s=0.01, max_batch=32)
    try:
        scores = await asyncio.gather(*(batcher.score(b"x" * (10 * i)) for i in range(20)))
    finally:
        batcher.close()
    assert model.batches == [20]
    assert [s.probability for s in scores] == [i / 100 for i in range(20)]
    assert all(s.batch == 20 and s.ms >= 0 for s in scores)
    assert threading.current_thread().name not in model.threads


async def test_a_batch_is_capped() -> None:
    """On a CPU a batch costs as much as its clips one by one: past max_batch (8 by default)
    the rest goes into the next inference, so no call waits for a huge one."""
    model = CountingModel()
    batcher = TurnBatcher(model, gather_s=0.01)
    try:
        await asyncio.gather(*(batcher.score(b"x") for _ in range(20)))
    finally:
        batcher.close()
    assert model.batches == [8, 8, 4]


async def test_requests_during_an_inference_form_the_next_batch() -> None:
    """What arrives while the worker is busy waits and goes together."""
    model = CountingModel()
    batcher = TurnBatcher(model, gather_s=0.0)
    try:
        first = asyncio.create_task(batcher.score(b"a"))
        await asyncio.sleep(0.002)
        rest = await asyncio.gather(*(batcher.score(b"b") for _ in range(5)))
        await first
    finally:
        batcher.close()
    assert sum(model.batches) == 6 and len(rest) == 5
    assert len(model.batches) <= 3


async def test_a_failed_inference_fails_every_request_in_it() -> None:
    """No call waits forever: each gets a ProviderError."""
    batcher = TurnBatcher(CountingModel(fail=True))
    try:
        results = await asyncio.gather(
            *(batcher.score(b"x") for _ in range(3)), return_exceptions=True
        )
    finally:
        batcher.close()
    assert all(isinstance(r, ProviderError) and "model broke" in str(r) for r in results)


async def test_requests_that_waited_too_long_are_refused() -> None:
    """Behind a slow inference, a request older than the deadline is refused (its call lets
    silence decide) instead of being answered late; a fresh one is still scored."""
    release = threading.Event()

    class Slow(CountingModel):
        def completeness(self, clips: list[bytes]) -> list[float]:
            release.wait(5)
            return super().completeness(clips)

    model = Slow()
    batcher = TurnBatcher(model, gather_s=0.0, deadline_s=0.05)
    try:
        first = asyncio.create_task(batcher.score(b"a"))
        await asyncio.sleep(0.01)
        late = asyncio.create_task(batcher.score(b"b"))
        await asyncio.sleep(0.1)  # it waits behind the first, past its deadline
        release.set()
        await first
        with pytest.raises(ProviderError, match="too busy"):
            await late
        assert (await batcher.score(b"c")).probability == 0.001
    finally:
        batcher.close()
    assert batcher.refused == 1 and model.batches == [1, 1]


async def test_over_its_cpu_budget_a_request_is_refused_at_once() -> None:
    """With max_cpu 0.1 (a tenth of a core), inferences of 60 ms spend the budget: the next
    request is refused without queuing (silence decides that pause), and once the budget
    has refilled the model scores again."""
    clock = [0.0]

    class Costly(CountingModel):
        def completeness(self, clips: list[bytes]) -> list[float]:
            clock[0] += 0.06  # 60 ms of inference on the worker thread
            return super().completeness(clips)

    model = Costly()
    batcher = TurnBatcher(model, gather_s=0.0, max_cpu=0.1, now=lambda: clock[0])
    try:
        await batcher.score(b"a")
        await batcher.score(b"b")  # 0.1 s of budget, 0.054 s spent net: still within it
        with pytest.raises(TurnScorerBusy, match=r"turn.max_cpu"):
            await batcher.score(b"c")
        assert model.batches == [1, 1] and batcher.over_budget == 1
        clock[0] += 0.2  # the bucket refills at 0.1 s per s: 0.02 s of budget back
        assert (await batcher.score(b"d")).probability == 0.001
        assert model.batches == [1, 1, 1]
    finally:
        batcher.close()


async def test_warm_up_loads_the_model_and_runs_it_once() -> None:
    """The first caller does not pay for loading."""
    model = CountingModel()
    batcher = TurnBatcher(model)
    try:
        await batcher.warm_up()
    finally:
        batcher.close()
    assert model.loaded and model.batches == [1]


@pytest.mark.parametrize("workers", [2])
async def test_several_workers_run_batches_side_by_side(workers: int) -> None:
    """With two workers a second batch need not wait for the first."""
    started = threading.Barrier(2, timeout=5)

    class Meeting(CountingModel):
        def completeness(self, clips: list[bytes]) -> list[float]:
            started.wait()  # both batches must be running at once to pass
            return super().completeness(clips)

    model = Meeting()
    batcher = TurnBatcher(model, gather_s=0.0, workers=workers, max_batch=1)
    try:
        await asyncio.gather(batcher.score(b"a"), batcher.score(b"b"))
    finally:
        batcher.close()
    assert model.batches == [1, 1]
