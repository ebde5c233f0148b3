"""Frames held for a recogniser that cuts at our VAD's edges (the local engine): they reach it
in batches while nothing happens, and always all of them before it hears of an edge or pause."""

from __future__ import annotations

from typing import cast

from tests.call.harness import QUIET_FRAME, SPEECH_FRAME
from tests.call.test_listener_lag import BotFloor, HeldVerdicts, settle
from tests.fakes.scripted import ScriptedASR

from telephonist.call.events import CallEvent
from telephonist.call.listener import HELD_BATCH_BYTES, Listener
from telephonist.call.settings import CallSettings
from telephonist.speech.asr.base import ASRCapabilities
from telephonist.speech.vad.batcher import VADBatcher
from telephonist.speech.vad.energy import EnergyVAD


async def test_held_frames_go_in_batches_and_ahead_of_every_edge() -> None:
    floor, held, events = BotFloor(), HeldVerdicts(), list[CallEvent]()
    listener = Listener(
        floor, EnergyVAD(), CallSettings(), events.append, batcher=cast(VADBatcher, held)
    )
    asr = ScriptedASR(capabilities=ASRCapabilities(cuts_at_vad_edges=True, pause_ms=200))
    await listener.open(asr, "en")
    await asr.wait_for(lambda: bool(asr.streams))
    stream = asr.streams[0]
    heard_at: list[int] = []  # bytes heard when each mark was made
    frames = [QUIET_FRAME] * 20 + [SPEECH_FRAME] * 50 + [QUIET_FRAME] * 40
    heard = 0
    for frame in frames:  # scored in real time, one verdict per frame
        await listener.hear(frame)
        heard += len(frame)
        held.release()
        await settle()
        heard_at += [heard] * (len(stream.marks) - len(heard_at))
    assert [kind for kind, _ in stream.marks] == ["speech", "pause", "end"]
    assert [received for _, received in stream.marks] == heard_at  # every frame, none later
    assert max(stream.sends) <= HELD_BATCH_BYTES + len(QUIET_FRAME)
    assert len(stream.sends) <= len(frames) // 5 + len(stream.marks)  # batched, not per frame
    await listener.close()
    assert stream.received + len(listener._backlog) == heard
