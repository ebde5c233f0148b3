"""Zero-latency speech engines for `telephonist run` in the resume benchmark, loaded as a
user's own engines (``asr: {name: zero_speech.KeypadASR}``, ``tts: {name:
zero_speech.ToneTTS}``, with this directory on ``PYTHONPATH``).

The callers only use the keypad, so the ASR never hears a word. The TTS answers at once with
a tone that stands for the text (its pitch from a hash of the text, 30 ms per character):
a simulated caller that synthesises the same tone knows exactly which prompt it heard,
without a speech recogniser — what a caller must know to do its task after a resume.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

import numpy as np

from telephonist.audio import mulaw
from telephonist.speech.asr.base import ASREvent
from telephonist.speech.tts.base import VoiceSpec

MS_PER_CHAR = 30
CHUNK_BYTES = 800  # 100 ms


def tone_for(text: str) -> bytes:
    """The mu-law audio ``ToneTTS`` speaks for ``text`` (deterministic)."""
    seconds = max(0.3, len(text) * MS_PER_CHAR / 1000)
    pitch = 250.0 + zlib.crc32(text.encode()) % 1500
    t = np.arange(int(seconds * 8000)) / 8000
    return mulaw.encode((np.sin(2 * np.pi * pitch * t) * 6000).astype(np.int16))


class KeypadASRStream:
    """Hears nothing: no event until closed."""

    def __init__(self) -> None:
        self._closed = asyncio.Event()

    async def send(self, audio: bytes) -> None:
        return None

    async def on_vad(self, speaking: bool) -> None:
        return None

    async def events(self) -> AsyncIterator[ASREvent]:
        await self._closed.wait()
        return
        yield  # an async generator that ends when the stream closes

    async def close(self) -> None:
        self._closed.set()


class KeypadASR:
    """The ASR of a line whose callers only press keys."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: Any) -> KeypadASR:
        return cls()

    async def open_stream(self, language: str) -> KeypadASRStream:
        return KeypadASRStream()


class ToneTTS:
    """Each text as its own tone (``tone_for``), at once, in 100 ms chunks."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: Any) -> ToneTTS:
        return cls()

    async def synthesize(self, text: str, voice: VoiceSpec) -> AsyncGenerator[bytes, None]:
        audio = tone_for(text)
        for offset in range(0, len(audio), CHUNK_BYTES):
            yield audio[offset : offset + CHUNK_BYTES]
