"""The ticker drives every phone once per 20 ms tick, all at once or spread over the tick."""

from __future__ import annotations

import asyncio
from typing import cast

from telephonist.simulator.phone import Phone, Ticker


class StopAfter(asyncio.Event):
    """Set once ``limit`` ticks of all phones together are logged."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def check(self, logged: int) -> None:
        if logged >= self.limit:
            self.set()


class CountingPhone:
    """Just what the ticker uses of a `Phone`: records the order and time of its ticks."""

    def __init__(
        self, name: int, log: list[tuple[int, float]], ticker: Ticker, stop: StopAfter
    ) -> None:
        self.name = name
        self.log = log
        self.ticker = ticker
        self.stop = stop
        self.closed = False
        self.finished = False
        self.speed = 1.0

    async def tick(self) -> None:
        self.log.append((self.name, self.ticker.clock()))
        self.stop.check(len(self.log))

    def finish(self) -> None:
        self.finished = True


async def drive(phases: int, phones: int, ticks: int) -> tuple[Ticker, list[tuple[int, float]]]:
    """Run a fast ticker (speed 10: 2 ms ticks) until ``ticks`` whole ticks have passed."""
    ticker = Ticker(speed=10.0, phases=phases)
    log: list[tuple[int, float]] = []
    stop = StopAfter(ticks * phones)
    for name in range(phones):
        ticker.add(cast(Phone, CountingPhone(name, log, ticker, stop)))
    await ticker.run(stop)
    return ticker, log[: ticks * phones]


async def test_without_phases_every_phone_ticks_in_the_same_step() -> None:
    _, log = await drive(phases=1, phones=4, ticks=3)
    assert [name for name, _ in log] == [0, 1, 2, 3] * 3


async def test_phases_spread_the_phones_over_the_tick_each_once_per_tick() -> None:
    ticker, log = await drive(phases=2, phones=4, ticks=3)
    order = [name for name, _ in log]
    assert order == [0, 2, 1, 3] * 3  # phones 0 and 2 in the first half, 1 and 3 in the second
    times = dict(zip(order[:4], (at for _, at in log[:4]), strict=True))
    half_tick = ticker.interval / 2
    assert times[1] - times[0] >= half_tick * 0.9  # the second half waits for its step


async def test_a_closed_phone_leaves_its_phase_and_is_finished() -> None:
    ticker = Ticker(speed=10.0, phases=2)
    log: list[tuple[int, float]] = []
    stop = StopAfter(4)  # two ticks of the two open phones
    phones = [CountingPhone(name, log, ticker, stop) for name in range(3)]
    for phone in phones:
        ticker.add(cast(Phone, phone))
    phones[1].closed = True
    await ticker.run(stop)
    assert phones[1].finished
    assert 1 not in {name for name, _ in log}
    assert [cast(CountingPhone, p).name for p in ticker.phones] == [0, 2]
