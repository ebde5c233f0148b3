"""One call's utterances cannot monopolise the local ASR's shared workers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from telephonist.speech.asr.base import ASREvent, Final
from telephonist.speech.asr.local import MAX_QUEUED_UTTERANCES, LocalASR, LocalASRStream

SPEECH = b"\x10" * 1600  # 200 ms of non-silent mu-law


class GatedASR(LocalASR):
    """LocalASR whose transcriptions wait for the test to release them, one at a time."""

    def __init__(self) -> None:
        super().__init__(Path("/nonexistent"), speculate_ms=100)
        self.running = 0
        self.most_running = 0
        self.started = 0
        self.release = asyncio.Semaphore(0)

    async def transcribe_async(
        self, audio: bytes, language: str, prompt: str | None = None
    ) -> Final | None:
        """Count concurrent work; finish when released."""
        self.started += 1
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await self.release.acquire()
            return Final(f"{len(audio)}")
        finally:
            self.running -= 1


async def test_a_fast_talker_holds_at_most_two_workers_and_a_bounded_queue(caplog):
    """Utterances arriving faster than they transcribe: one transcription at a time, and one
    more only on a worker no one else uses; at most MAX_QUEUED_UTTERANCES waiting, the rest
    dropped and logged once; the kept ones come out in order."""
    asr = GatedASR()
    stream = await asr.open_stream("en")
    for n in range(10):
        await stream.on_vad(True)
        await stream.send(SPEECH * (n + 1))
        await stream.on_pause(True)  # a pause: a guess while a worker is free for it
        await stream.on_vad(False)
        await asyncio.sleep(0)  # let the worker take the first utterance
    assert asr.most_running == 2
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
    assert finals == sorted(finals) and asr.most_running == 2
    assert asr.started == 1 + MAX_QUEUED_UTTERANCES
    await stream.close()


async def other_calls(asr: GatedASR, count: int) -> list[LocalASRStream]:
    """``count`` other calls, each with one utterance taken into the pool."""
    others = [await asr.open_stream("en") for _ in range(count)]
    for other in others:
        await other.on_vad(True)
        await other.send(SPEECH)
        await other.on_vad(False)
    await asyncio.sleep(0)
    return others


async def next_final(asr: GatedASR, stream: LocalASRStream, releases: int) -> ASREvent:
    """Let ``releases`` transcriptions finish; the stream's next event."""
    for _ in range(releases):
        asr.release.release()
    return await anext(aiter(stream.events()))


async def abandon_guesses(stream: LocalASRStream, pauses: int) -> None:
    """Speech with short pauses: each starts a guess if it may, which speech then drops."""
    await stream.on_vad(True)
    for _ in range(pauses):
        await stream.send(SPEECH)
        await stream.on_pause(True)
        await asyncio.sleep(0)
        await stream.on_pause(False)


async def test_a_guess_abandoned_by_resumed_speech_does_not_delay_the_end_on_an_idle_pool():
    """A guess dropped because speech resumed keeps running (inference cannot be stopped);
    the utterance's end then starts at once on the idle second worker, not behind it."""
    asr = GatedASR()
    stream = await asr.open_stream("en")
    await abandon_guesses(stream, 1)
    assert asr.started == 1
    await stream.send(SPEECH)
    await stream.on_pause(True)  # the final pause: a fresh guess on the idle worker
    await stream.on_vad(False)
    await asyncio.sleep(0)
    assert asr.started == 2 and asr.most_running == 2
    assert await next_final(asr, stream, 2) == Final(str(2 * len(SPEECH)))
    assert asr.started == 2
    await stream.close()


async def test_a_call_takes_at_most_two_workers_however_often_it_pauses():
    """Abandoned guesses: the first holds the call's own place, the second the idle worker;
    later pauses start nothing, and the utterance's end waits for its own place."""
    asr = GatedASR()
    stream = await asr.open_stream("en")
    await abandon_guesses(stream, 5)
    await stream.on_vad(False)
    await asyncio.sleep(0)
    assert asr.started == 2 and asr.most_running == 2
    assert await next_final(asr, stream, 3) == Final(str(5 * len(SPEECH)))
    assert asr.started == 3 and asr.most_running == 2
    await stream.close()


async def test_while_other_calls_use_the_pool_a_call_waits_for_its_own_job():
    """With the other worker busy for another call, the abandoned guess is this call's one job
    in the pool: its utterance waits for it."""
    asr = GatedASR()
    (other,) = await other_calls(asr, 1)  # the other call's utterance takes a worker
    stream = await asr.open_stream("en")
    await abandon_guesses(stream, 5)
    assert asr.started == 2 and asr.running == 2
    await stream.on_pause(True)  # no idle worker: no guess
    await stream.on_vad(False)  # the utterance waits for the abandoned guess
    await asyncio.sleep(0)
    assert asr.started == 2 and asr.most_running == 2
    assert await next_final(asr, stream, 3) == Final(str(5 * len(SPEECH)))
    assert asr.started == 3 and asr.most_running == 2
    await other.close()
    await stream.close()


async def test_while_every_worker_is_busy_a_pause_waits_for_more_quiet_before_guessing():
    """Other calls hold both workers: a pause starts no guess until speculate_ms more audio
    has come (most short pauses are not the end); speech that resumes first starts none."""
    asr = GatedASR()
    others = await other_calls(asr, 2)  # their utterances take both workers
    assert asr.running == 2
    stream = await asr.open_stream("en")
    await stream.on_vad(True)
    await stream.send(SPEECH)
    await stream.on_pause(True)
    await stream.send(b"\xff" * 400)  # 50 ms more
    await stream.on_pause(False)  # the caller goes on: no guess for this pause
    await stream.send(SPEECH)
    await asyncio.sleep(0)
    assert asr.started == 2
    await stream.on_pause(True)
    await stream.send(b"\xff" * 400)
    await asyncio.sleep(0)
    assert asr.started == 2
    await stream.send(b"\xff" * 400)  # 100 ms of quiet: the guess starts (and waits its turn)
    await asyncio.sleep(0)
    assert asr.started == 3
    for each in (*others, stream):
        await each.close()
