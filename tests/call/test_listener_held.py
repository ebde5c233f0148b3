"""Frames held for a recogniser that cuts at our VAD's edges (the local engine): they reach it
in batches while nothing happens, and always all of them before it hears of an edge or pause."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast

from tests.call.harness import QUIET_FRAME, SPEECH_FRAME
from tests.call.test_listener_lag import BotFloor, HeldVerdicts, settle

from telephonist.call.events import CallEvent
from telephonist.call.listener import HELD_BATCH_BYTES, Listener
from telephonist.call.settings import CallSettings
from telephonist.speech.asr.base import ASRCapabilities, ASREvent
from telephonist.speech.vad.batcher import VADBatcher
from telephonist.speech.vad.energy import EnergyVAD


class OrderStream:
    """Records each send's size and, at each edge or pause, how much audio it had."""

    def __init__(self) -> None:
        self.sends: list[int] = []
        self.marks: list[tuple[str, int]] = []
        self._events: asyncio.Queue[ASREvent | None] = asyncio.Queue()

    @property
    def received(self) -> int:
        return sum(self.sends)

    async def send(self, audio: bytes) -> None:
        self.sends.append(len(audio))

    async def on_vad(self, speaking: bool) -> None:
        self.marks.append(("speech" if speaking else "end", self.received))

    async def on_pause(self, paused: bool) -> None:
        self.marks.append(("pause" if paused else "resumed", self.received))

    async def events(self) -> AsyncIterator[ASREvent]:
        while (event := await self._events.get()) is not None:
            yield event

    async def close(self) -> None:
        self._events.put_nowait(None)


class FollowingASR:
    capabilities = ASRCapabilities(cuts_at_vad_edges=True, pause_ms=200)

    def __init__(self) -> None:
        self.stream = OrderStream()

    async def warm_up(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def open_stream(self, language: str) -> OrderStream:
        return self.stream


async def test_held_frames_go_in_batches_and_ahead_of_every_edge() -> None:
    floor, held, events = BotFloor(), HeldVerdicts(), list[CallEvent]()
    listener = Listener(
        floor, EnergyVAD(), CallSettings(), events.append, batcher=cast(VADBatcher, held)
    )
    asr = FollowingASR()
    await listener.open(asr, "en")
    heard_at: dict[int, int] = {}  # bytes heard when each mark was made
    frames = [QUIET_FRAME] * 20 + [SPEECH_FRAME] * 50 + [QUIET_FRAME] * 40
    heard = 0
    for frame in frames:  # scored in real time, one verdict per frame
        await listener.hear(frame)
        heard += len(frame)
        held.release()
        await settle()
        for index in range(len(heard_at), len(asr.stream.marks)):
            heard_at[index] = heard
    kinds = [kind for kind, _ in asr.stream.marks]
    assert kinds == ["speech", "pause", "end"]
    for index, (_, received) in enumerate(asr.stream.marks):
        assert received == heard_at[index]  # every frame up to the verdict, none later
    assert max(asr.stream.sends) <= HELD_BATCH_BYTES + len(QUIET_FRAME)
    assert len(asr.stream.sends) <= len(frames) // 5 + len(kinds)  # batched, not per frame
    await listener.close()
    assert asr.stream.received + len(listener._backlog) == heard
