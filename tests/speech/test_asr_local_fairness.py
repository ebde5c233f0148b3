"""One call's utterances cannot monopolise the local ASR's shared workers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from telephonist.speech.asr.base import Final
from telephonist.speech.asr.local import MAX_QUEUED_UTTERANCES, LocalASR

SPEECH = b"\x10" * 1600  # 200 ms of non-silent mu-law


class GatedASR(LocalASR):
    """LocalASR whose transcriptions wait for the test to release them, one at a time."""

    def __init__(self) -> None:
        super().__init__(Path("/nonexistent"), speculate_ms=100)
        self.running = 0
        self.most_running = 0
        self.started = 0
        self.release = asyncio.Semaphore(0)

    async def transcribe_async(self, audio: bytes, language: str) -> Final | None:
        """Count concurrent work; finish when released."""
        self.started += 1
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await self.release.acquire()
            return Final(f"{len(audio)}")
        finally:
            self.running -= 1


async def test_a_fast_talker_holds_one_worker_and_a_bounded_queue(caplog):
    """Utterances arriving faster than they transcribe: one transcription at a time (no
    guesses ahead while busy), at most MAX_QUEUED_UTTERANCES waiting, the rest dropped and
    logged once; the kept ones come out in order."""
    asr = GatedASR()
    stream = await asr.open_stream("en")
    for n in range(10):
        await stream.on_vad(True)
        await stream.send(SPEECH * (n + 1))
        await stream.on_pause(True)  # a pause: a guess only when the stream is idle
        await stream.on_vad(False)
        await asyncio.sleep(0)  # let the worker take the first utterance
    assert asr.most_running == 1
    assert stream.dropped == 10 - 1 - MAX_QUEUED_UTTERANCES
    assert caplog.text.count("local_asr.utterance_dropped") == 1
    for _ in range(1 + MAX_QUEUED_UTTERANCES):
        asr.release.release()
    finals = []
    async for event in stream.events():
        assert isinstance(event, Final)
        finals.append(int(event.text))
        if len(finals) == 1 + MAX_QUEUED_UTTERANCES:
            break
    assert finals == sorted(finals) and asr.most_running == 1
    assert asr.started == 1 + MAX_QUEUED_UTTERANCES
    await stream.close()


async def test_a_guess_abandoned_by_resumed_speech_still_counts_as_the_calls_job():
    """Pauses within speech start a guess only while the call has no job in the pool: a
    guess dropped because speech resumed keeps its place until it finishes."""
    asr = GatedASR()
    stream = await asr.open_stream("en")
    await stream.on_vad(True)
    for _ in range(5):
        await stream.send(SPEECH)
        await stream.on_pause(True)
        await asyncio.sleep(0)
        await stream.on_pause(False)
    assert asr.started == 1
    await stream.on_vad(False)  # the utterance waits for the abandoned guess
    await asyncio.sleep(0)
    assert asr.started == 1 and asr.most_running == 1
    asr.release.release()
    asr.release.release()
    async for event in stream.events():
        assert event == Final(str(5 * len(SPEECH)))
        break
    assert asr.started == 2 and asr.most_running == 1
    await stream.close()
