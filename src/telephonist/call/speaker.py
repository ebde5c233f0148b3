"""Speaking one bot message: synthesise, stream each chunk to Twilio as it arrives, and put
marks in the audio so the session learns what the caller has really heard."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

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


class Speaker:
    """Streams synthesised messages to one call."""

    def __init__(self, stream: MediaStream, transport: Transport, tts: TTSEngine,
                 playback: Playback, *, on_audio: Callable[[Spoken, int], None]) -> None:
        self._stream = stream
        self._transport = transport
        self._tts = tts
        self._playback = playback
        self._on_audio = on_audio

    async def speak(self, spoken: Spoken, voice: VoiceSpec) -> None:
        """Send the message's audio as it is synthesised. Cancel the task to stop it."""
        chunks = self._tts.synthesize(spoken.text, voice)
        last_mark = 0
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                await self._transport.send(self._stream.media(chunk))
                spoken.sent += len(chunk)
                self._on_audio(spoken, len(chunk))
                if spoken.sent - last_mark >= MARK_EVERY_BYTES:
                    await self._mark(spoken, final=False)
                    last_mark = spoken.sent
                # A provider with audio ready never suspends; yielding here lets every other
                # call's first audio out before this one's remainder (fair under bursts).
                await asyncio.sleep(0)
        finally:
            await chunks.aclose()  # stops the provider's work promptly on barge-in
        padding = -spoken.sent % FRAME_BYTES
        if padding:  # end on a whole 20 ms frame of true silence (0xFF), never 0x00 clicks
            await self._transport.send(self._stream.media(silence(padding)))
            spoken.sent += padding
            self._on_audio(spoken, padding)
        spoken.complete = True
        await self._mark(spoken, final=True)

    async def _mark(self, spoken: Spoken, *, final: bool) -> None:
        name, frame = self._stream.mark()
        self._playback.sent(name, spoken.message_id, spoken.sent, final=final)
        await self._transport.send(frame)
