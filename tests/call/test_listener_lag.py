"""A VAD that lags behind the recogniser (batched under load): speech the recogniser has
already answered must not barge in on that answer when the VAD dates it late."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

from tests.call.harness import QUIET_FRAME, SPEECH_FRAME
from tests.fakes.scripted import ScriptedASR

from telephonist.call.events import CallEvent
from telephonist.call.listener import Listener
from telephonist.call.settings import CallSettings
from telephonist.speech.asr.base import Final
from telephonist.speech.vad.base import VADStream
from telephonist.speech.vad.batcher import VADBatcher
from telephonist.speech.vad.energy import EnergyVAD


class HeldVerdicts:
    """A VAD batcher that scores only when told to: the lag of a loaded machine."""

    def __init__(self) -> None:
        self.waiting: list[tuple[VADStream, bytes, Callable[[list[float]], None]]] = []

    def submit(self, stream: VADStream, audio: bytes, done: Callable[[list[float]], None]) -> None:
        self.waiting.append((stream, audio, done))

    def release(self) -> None:
        waiting, self.waiting = self.waiting, []
        for stream, audio, done in waiting:
            done(stream.probabilities(audio))


class BotFloor:
    """The session: the bot speaks its answer once the caller's words are in."""

    call_id = "CA1"

    def __init__(self) -> None:
        self.said: list[str] = []
        self.interrupts: list[str] = []
        self.bot_speaking = False

    def may_interrupt(self, words: int | None) -> bool:
        return self.bot_speaking

    async def interrupt(self, trigger: str, text: str | None = None) -> None:
        self.interrupts.append(trigger)
        self.bot_speaking = False

    def caller_active(self) -> None:
        pass

    async def caller_stopped(self, lag: float) -> None:
        pass

    def caller_said(self, text: str, confidence: float | None) -> None:
        self.said.append(text)
        self.bot_speaking = True

    def heard_no_words(self) -> None:
        pass

    async def recognition_lost(self) -> None:
        pass

    def over_bot(self) -> bool:
        return self.bot_speaking


async def settle() -> None:
    """Let the listener's tasks run."""
    for _ in range(50):
        await asyncio.sleep(0)


async def test_late_verdicts_on_answered_speech_do_not_cut_the_answer() -> None:
    """The recogniser's final came before the VAD's verdicts on the same speech: when those
    verdicts arrive, over the bot's answer, they start no barge-in; speech that begins
    after the words were recognised still barges in."""
    floor, held, events = BotFloor(), HeldVerdicts(), list[CallEvent]()
    listener = Listener(
        floor, EnergyVAD(), CallSettings(), events.append, batcher=cast(VADBatcher, held)
    )
    asr = ScriptedASR()
    await listener.open(asr, "en")
    await asr.wait_for(lambda: bool(asr.streams))
    for frame in [SPEECH_FRAME] * 50 + [QUIET_FRAME] * 5:
        await listener.hear(frame)
    asr.streams[0].inject(Final("hello there", 0.9))
    await settle()
    assert floor.said == ["hello there"] and floor.bot_speaking
    held.release()  # the VAD catches up with the second of speech already answered
    await settle()
    assert floor.interrupts == []
    for frame in [QUIET_FRAME] * 30 + [SPEECH_FRAME] * 20:  # the caller speaks again
        await listener.hear(frame)
    held.release()
    await settle()
    assert floor.interrupts == ["speech"]
    await listener.close()
