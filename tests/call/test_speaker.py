"""Speaker: the first chunk at once, then all audio that has arrived in one message."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncGenerator

import pytest
from tests.call.harness import START, MemoryTransport, wait_for

from telephonist.call.speaker import MARK_EVERY_BYTES, Speaker, Spoken
from telephonist.errors import ProviderError
from telephonist.speech.tts.base import VoiceSpec
from telephonist.twilio.playback import Playback
from telephonist.twilio.stream import MediaStream


class BurstTTS:
    """Yields ``count`` chunks of ``size`` bytes; ``gate`` (if set) is awaited between chunks
    after the first, so a test can decide what has 'arrived'. Optionally fails at the end."""

    def __init__(
        self, count: int, size: int, *, gate: asyncio.Queue[None] | None = None, fail: bool = False
    ) -> None:
        self.count, self.size, self.gate, self.fail = count, size, gate, fail
        self.closed = False

    async def warm_up(self) -> None:
        """Nothing to prepare."""

    async def aclose(self) -> None:
        """Nothing to release."""

    async def synthesize(self, text: str, voice: VoiceSpec) -> AsyncGenerator[bytes, None]:
        try:
            for i in range(self.count):
                if i and self.gate is not None:
                    await self.gate.get()
                yield bytes([i % 100 + 1]) * self.size
            if self.fail:
                raise ProviderError("fake", "connection lost", retryable=True)
        finally:
            self.closed = True


def speaker_for(tts: BurstTTS) -> tuple[Speaker, MemoryTransport]:
    stream = MediaStream()
    stream.receive(START)
    transport = MemoryTransport()
    return Speaker(stream, transport, tts, Playback(), on_audio=lambda s, n: None), transport


def audio_messages(transport: MemoryTransport) -> list[bytes]:
    return [
        base64.b64decode(f["media"]["payload"]) for f in transport.frames if f["event"] == "media"
    ]


async def test_audio_that_arrived_together_goes_out_together() -> None:
    """40 chunks of 100 ms yielded at once: the first alone, then 500 ms messages."""
    tts = BurstTTS(40, 800)
    speaker, transport = speaker_for(tts)
    spoken = Spoken(1, "hello")
    await speaker.speak(spoken, VoiceSpec())
    sizes = [len(m) for m in audio_messages(transport)]
    assert sizes[0] == 800 and all(s <= MARK_EVERY_BYTES for s in sizes)
    assert sum(sizes) == spoken.sent == 32000 and len(sizes) <= 10
    assert b"".join(audio_messages(transport)) == b"".join(
        bytes([i % 100 + 1]) * 800 for i in range(40)
    )  # nothing lost, nothing reordered
    assert transport.kinds()[-1] == "mark" and spoken.complete and tts.closed


async def test_audio_arriving_piece_by_piece_is_sent_piece_by_piece() -> None:
    """A provider slower than the loop: no piece waits for the next one."""
    gate: asyncio.Queue[None] = asyncio.Queue()
    tts = BurstTTS(4, 160, gate=gate)
    speaker, transport = speaker_for(tts)
    task = asyncio.create_task(speaker.speak(Spoken(1, "hi"), VoiceSpec()))
    for sent in range(1, 4):

        def arrived(n: int = sent) -> bool:
            return len(audio_messages(transport)) == n

        await wait_for(arrived)
        for _ in range(20):  # however long the loop runs, the next piece is not waited for
            await asyncio.sleep(0)
        assert len(audio_messages(transport)) == sent
        gate.put_nowait(None)
    await task
    assert [len(m) for m in audio_messages(transport)] == [160, 160, 160, 160]


async def test_a_provider_error_mid_message_surfaces_after_the_audio_before_it() -> None:
    tts = BurstTTS(3, 800, fail=True)
    speaker, transport = speaker_for(tts)
    with pytest.raises(ProviderError, match="connection lost"):
        await speaker.speak(Spoken(1, "hi"), VoiceSpec())
    assert sum(len(m) for m in audio_messages(transport)) == 2400 and tts.closed


async def test_cancelling_stops_the_provider() -> None:
    gate: asyncio.Queue[None] = asyncio.Queue()
    tts = BurstTTS(10, 800, gate=gate)
    speaker, transport = speaker_for(tts)
    task = asyncio.create_task(speaker.speak(Spoken(1, "hi"), VoiceSpec()))
    await wait_for(lambda: len(audio_messages(transport)) == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert tts.closed and len(audio_messages(transport)) == 1
