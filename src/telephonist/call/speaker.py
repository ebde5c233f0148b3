"""Speaking one bot message: synthesise, stream each chunk to Twilio as it arrives, and put
marks in the audio so the session learns what the caller has really heard.

A barge-in on hold stops the sending, not the synthesis: ``hold`` makes the speaker keep what
the voice produces, ``replay`` sends audio again from a point of the message (the caller's
``clear`` dropped it), and ``release`` lets the rest follow."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from telephonist.audio.formats import FRAME_BYTES, MULAW_BYTES_PER_MS
from telephonist.audio.mulaw import silence
from telephonist.call.transport import Transport
from telephonist.speech.tts.base import TTSEngine, VoiceSpec
from telephonist.twilio.playback import Playback
from telephonist.twilio.stream import MediaStream

__all__ = ["Speaker", "Spoken"]

MARK_EVERY_BYTES = 500 * MULAW_BYTES_PER_MS
"""An intermediate mark every 500 ms of audio: barge-in knows what was heard to that grain."""


@dataclass
class Spoken:
    """Progress of one message: bytes sent so far, and whether synthesis completed."""

    message_id: int
    text: str
    sent: int = 0
    complete: bool = False
    marked: int = 0
    """``sent`` at the last intermediate mark."""
    final_marked: bool = False
    """The mark after the last audio was sent."""
    audio: list[bytes] = field(default_factory=list)
    """The audio sent, kept (only when barge-ins may resume) for replaying it."""

    def kept(self) -> bytes:
        """The audio kept so far (empty unless the speaker keeps audio)."""
        if len(self.audio) > 1:
            self.audio[:] = [b"".join(self.audio)]
        return self.audio[0] if self.audio else b""


class Speaker:
    """Streams synthesised messages to one call."""

    def __init__(
        self,
        stream: MediaStream,
        transport: Transport,
        tts: TTSEngine,
        playback: Playback,
        *,
        on_audio: Callable[[Spoken, int], None],
        keep_audio: bool = False,
    ) -> None:
        self._stream = stream
        self._transport = transport
        self._tts = tts
        self._playback = playback
        self._on_audio = on_audio
        self._keep_audio = keep_audio
        self._open = asyncio.Event()
        self._open.set()

    async def clear(self) -> None:
        """Twilio drops the audio it has not played yet (its pending marks come back)."""
        await self._transport.send(self._stream.clear())

    def hold(self) -> None:
        """Send nothing more until ``release`` (synthesis goes on meanwhile)."""
        self._open.clear()

    def release(self) -> None:
        """Sending may go on."""
        self._open.set()

    async def replay(self, spoken: Spoken, start: int) -> int:
        """Send the kept audio of ``spoken`` again from byte ``start``, with marks as when it
        was first sent; returns the number of bytes sent."""
        audio = spoken.kept()[start : spoken.sent]
        for offset in range(0, len(audio), MARK_EVERY_BYTES):
            piece = audio[offset : offset + MARK_EVERY_BYTES]
            await self._transport.send(self._stream.media(piece))
            end = start + offset + len(piece)
            if end < spoken.sent or not spoken.final_marked:
                await self._mark(spoken, final=False, offset=end)
        if spoken.final_marked:
            await self._mark(spoken, final=True)
        return len(audio)

    async def speak(self, spoken: Spoken, voice: VoiceSpec) -> None:
        """Send the message's audio as it is synthesised. Cancel the task to stop it.

        The first chunk goes out the moment it exists. After it, a reader task takes the
        provider's chunks, and each message to Twilio carries all the audio that has arrived
        meanwhile (up to the mark grain): providers that stream faster than real time in small
        pieces cost one websocket message per half second of speech, not one per piece.
        """
        chunks = self._tts.synthesize(spoken.text, voice)
        reader: asyncio.Task[None] | None = None
        try:
            first = b""
            async for first in chunks:
                if first:
                    await self._send(spoken, first)
                    break
            if first:  # more may follow
                arrived: deque[bytes] = deque()
                wake = asyncio.Event()
                reader = asyncio.create_task(_read(chunks, arrived, wake))
                while not (reader.done() and not arrived):
                    await wake.wait()
                    wake.clear()
                    while arrived:
                        await self._send(spoken, _take(arrived, MARK_EVERY_BYTES))
                        await asyncio.sleep(0)  # other calls' audio goes out in between
                await reader  # a provider error mid-message surfaces here
        finally:
            if reader is not None and not reader.done():
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
            await chunks.aclose()  # stops the provider's work promptly on barge-in
        padding = -spoken.sent % FRAME_BYTES
        if padding:  # end on a whole 20 ms frame of true silence (0xFF), never 0x00 clicks
            await self._send(spoken, silence(padding), mark=False)
        spoken.complete = True
        await self._open.wait()
        await self._mark(spoken, final=True)
        spoken.final_marked = True

    async def _send(self, spoken: Spoken, audio: bytes, *, mark: bool = True) -> None:
        """One media message, and an intermediate mark every ``MARK_EVERY_BYTES``."""
        await self._open.wait()
        await self._transport.send(self._stream.media(audio))
        spoken.sent += len(audio)
        if self._keep_audio:
            spoken.audio.append(audio)
        self._on_audio(spoken, len(audio))
        if mark and spoken.sent - spoken.marked >= MARK_EVERY_BYTES:
            await self._open.wait()
            await self._mark(spoken, final=False)
            spoken.marked = spoken.sent

    async def _mark(self, spoken: Spoken, *, final: bool, offset: int | None = None) -> None:
        """A mark after ``offset`` bytes of the message (default: all sent so far)."""
        name, frame = self._stream.mark()
        where = spoken.sent if offset is None else offset
        self._playback.sent(name, spoken.message_id, where, final=final)
        await self._transport.send(frame)


async def _read(chunks: AsyncIterator[bytes], arrived: deque[bytes], wake: asyncio.Event) -> None:
    """Move the provider's chunks into ``arrived`` as they come; wake the speaker each time
    and once more at the end (or on an error, which the task then carries)."""
    try:
        async for chunk in chunks:
            if chunk:
                arrived.append(chunk)
                wake.set()
    finally:
        wake.set()


def _take(arrived: deque[bytes], limit: int) -> bytes:
    """Whole chunks from the front of ``arrived``, at least one, at most ``limit`` bytes
    unless the first alone is larger."""
    parts = [arrived.popleft()]
    size = len(parts[0])
    while arrived and size + len(arrived[0]) <= limit:
        size += len(arrived[0])
        parts.append(arrived.popleft())
    return parts[0] if len(parts) == 1 else b"".join(parts)
