"""An in-memory LRU cache in front of any `TTSEngine`, for prompts every call repeats.

Keyed by (text, voice, language, ssml). Only complete syntheses are stored: a request closed
early (barge-in) or failed leaves nothing behind. Two identical requests in flight both reach the
inner engine; the second to finish simply refreshes the entry. Warm-up and closing go to the
inner engine.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncGenerator

from telephonist.speech.tts.base import TTSEngine, VoiceSpec

__all__ = ["CachedTTS"]

_Key = tuple[str, str | None, str, str | None]


class CachedTTS:
    """Wraps ``inner``; keeps up to ``max_entries`` complete syntheses (least recently used out)."""

    def __init__(self, inner: TTSEngine, max_entries: int = 1000, chunk_bytes: int = 3200) -> None:
        if max_entries < 1 or chunk_bytes < 1:
            raise ValueError("max_entries and chunk_bytes must be positive")
        self.inner = inner
        self.max_entries = max_entries
        self.chunk_bytes = chunk_bytes
        self._entries: OrderedDict[_Key, bytes] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def synthesize(self, text: str, voice: VoiceSpec) -> AsyncGenerator[bytes, None]:
        """Cached audio in ``chunk_bytes`` chunks, or the inner engine's chunks (then stored)."""
        key: _Key = (text, voice.voice, voice.language, voice.ssml)
        audio = self._entries.get(key)
        if audio is not None:
            self.hits += 1
            self._entries.move_to_end(key)
            for i in range(0, len(audio), self.chunk_bytes):
                yield audio[i : i + self.chunk_bytes]
            return
        self.misses += 1
        parts: list[bytes] = []
        stream = self.inner.synthesize(text, voice)
        try:
            async for chunk in stream:
                parts.append(chunk)
                yield chunk
        finally:
            await stream.aclose()
        self._entries[key] = b"".join(parts)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def warm_up(self) -> None:
        """The inner engine's warm-up (e.g. Cartesia's socket, the local voice)."""
        await self.inner.warm_up()

    async def aclose(self) -> None:
        """Close the inner engine (at shutdown)."""
        await self.inner.aclose()
