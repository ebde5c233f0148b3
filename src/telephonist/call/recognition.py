"""The call's recognition stream, and when each caller frame reaches it.

Engines that find the end of speech themselves (Deepgram, Azure) get every frame the moment
it arrives: waiting for our VAD's verdict would only add the VAD's batching delay to the turn.
Engines that cut utterances at our VAD's edges (the local one declares ``cuts_at_vad_edges`` in
its capabilities) get each frame just before the verdict on it, never ahead,
so a burst of late frames cannot land on the wrong side of an edge. Audio that arrives
before the stream is open is kept (up to a limit) and sent first.
"""

from __future__ import annotations

import contextlib

from telephonist.audio.formats import MULAW_BYTES_PER_MS
from telephonist.config.channel import InterruptionSettings
from telephonist.speech.asr.base import ASRProvider, ASRStream, ReadsBackchannels

__all__ = ["MAX_EARLY_AUDIO", "Recognition"]

MAX_EARLY_AUDIO = 5000 * MULAW_BYTES_PER_MS
"""Caller audio kept while the ASR connects; beyond this the stream is failing anyway."""


class Recognition:
    """One call's ASR stream with its ordering rule."""

    def __init__(self) -> None:
        self.stream: ASRStream | None = None
        self._early = bytearray()
        self._follows_vad = False
        self._pausing: ASRStream | None = None
        self._reading: ReadsBackchannels | None = None
        self._pause_ms = 0.0
        self._paused = False

    async def open(self, provider: ASRProvider, language: str) -> ASRStream:
        """Open the stream and send what arrived meanwhile (raises the provider's error)."""
        capabilities = provider.capabilities
        stream = await provider.open_stream(language)
        while self._early:  # frames keep arriving while this flushes
            early = bytes(self._early)
            self._early.clear()
            await stream.send(early)
        self._follows_vad = capabilities.cuts_at_vad_edges
        if capabilities.pause_ms is not None:
            self._pausing, self._pause_ms = stream, capabilities.pause_ms
        if isinstance(stream, ReadsBackchannels):
            self._reading = stream
        self.stream = stream
        return stream

    async def arrived(self, mulaw: bytes) -> bytes:
        """A caller frame arrived. Returns it if it must wait for the VAD's verdict (pass it
        to ``before_verdict`` then), else ``b""``: it was sent or kept already."""
        if self.stream is None:
            if len(self._early) < MAX_EARLY_AUDIO:
                self._early += mulaw
            return b""
        if self._follows_vad:
            return mulaw
        await self.stream.send(mulaw)
        return b""

    async def before_verdict(self, held: bytes) -> None:
        """Send a frame ``arrived`` held back, just before the VAD's verdict on it."""
        if held and self.stream is not None:
            await self.stream.send(held)

    async def on_vad(self, speaking: bool) -> None:
        """Our VAD found an edge of speech."""
        self._paused = False
        if self.stream is not None:
            await self.stream.on_vad(speaking)

    def expect_backchannels(self, settings: InterruptionSettings, over_bot: bool) -> None:
        """Whether the utterance about to start is sound over the bot, for a stream that can
        read it again as backchannels (`ReadsBackchannels`): only if a barge-in may resume."""
        if self._reading is not None:
            over = over_bot and settings.enabled and settings.resume_after_ms > 0
            self._reading.expect_backchannels(settings.backchannels if over else None)

    def pause_due(self, quiet_ms: float) -> bool:
        """``quiet(quiet_ms)`` would tell the stream something (a pause began or ended)."""
        return self._pausing is not None and (quiet_ms >= self._pause_ms) != self._paused

    async def quiet(self, quiet_ms: float) -> None:
        """How long the caller has been quiet within speech. A stream whose provider declares
        ``pause_ms`` hears ``on_pause(True)`` once a pause lasts that long (it may start
        transcribing then, before the end of speech is certain) and ``on_pause(False)`` if
        speech resumes."""
        if self._pausing is not None and self.pause_due(quiet_ms):
            self._paused = not self._paused
            await self._pausing.on_pause(self._paused)

    async def close(self) -> None:
        """Close the stream; its errors no longer matter."""
        self._early.clear()
        if self.stream is not None:
            with contextlib.suppress(Exception):
                await self.stream.close()
