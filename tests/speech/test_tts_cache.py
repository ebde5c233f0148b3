"""CachedTTS: hits skip the inner engine; only complete syntheses are stored; LRU eviction."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest

from telephonist.errors import ProviderError
from telephonist.speech.tts.base import VoiceSpec
from telephonist.speech.tts.cache import CachedTTS

DEFAULT = VoiceSpec()


class ScriptedTTS:
    """Yields the text's bytes in 3-byte chunks; counts calls; 'boom' fails midway."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.closed = 0
        self.lifecycle: list[str] = []

    async def warm_up(self) -> None:
        self.lifecycle.append("warm_up")

    async def aclose(self) -> None:
        self.lifecycle.append("aclose")

    async def synthesize(self, text: str, voice: VoiceSpec) -> AsyncGenerator[bytes, None]:
        """Chunks of ``text`` encoded; raises after the first chunk for 'boom'."""
        self.calls.append(text)
        data = f"{text}/{voice.voice}".encode()
        try:
            for i in range(0, len(data), 3):
                if text == "boom" and i:
                    raise ProviderError("scripted", "failed", retryable=True)
                yield data[i : i + 3]
        finally:
            self.closed += 1


async def play(tts: CachedTTS, text: str, voice: VoiceSpec = DEFAULT) -> bytes:
    """All audio for ``text``."""
    return b"".join([chunk async for chunk in tts.synthesize(text, voice)])


async def test_hit_returns_identical_bytes_without_inner() -> None:
    """The second identical request is served from the cache, in chunk_bytes pieces."""
    inner = ScriptedTTS()
    tts = CachedTTS(inner, chunk_bytes=4)
    first = await play(tts, "hello there")
    chunks = [c async for c in tts.synthesize("hello there", VoiceSpec())]
    assert b"".join(chunks) == first and inner.calls == ["hello there"]
    assert max(map(len, chunks)) == 4 and (tts.hits, tts.misses) == (1, 1)


async def test_key_includes_voice_language_and_ssml() -> None:
    """Changing any of voice, language or ssml is a different entry."""
    inner = ScriptedTTS()
    tts = CachedTTS(inner)
    for spec in (
        VoiceSpec(),
        VoiceSpec(voice="b"),
        VoiceSpec(language="fr"),
        VoiceSpec(ssml="<speak>hi</speak>"),
    ):
        await play(tts, "hi", spec)
    assert len(inner.calls) == 4 and len(tts) == 4


async def test_closed_early_is_not_stored_and_closes_inner() -> None:
    """A request closed after one chunk (barge-in) stores nothing and closes the inner stream."""
    inner = ScriptedTTS()
    tts = CachedTTS(inner)
    stream = tts.synthesize("a long sentence", VoiceSpec())
    await anext(stream)
    await stream.aclose()
    assert len(tts) == 0 and inner.closed == 1
    await play(tts, "a long sentence")
    assert len(inner.calls) == 2 and len(tts) == 1


async def test_failure_is_not_stored() -> None:
    """A synthesis that raises propagates the error and leaves no entry."""
    tts = CachedTTS(ScriptedTTS())
    with pytest.raises(ProviderError):
        await play(tts, "boom")
    assert len(tts) == 0


async def test_least_recently_used_is_evicted() -> None:
    """With max_entries=2, using 'a' again makes 'b' the one evicted by 'c'."""
    inner = ScriptedTTS()
    tts = CachedTTS(inner, max_entries=2)
    for text in ("a", "b", "a", "c", "a", "b"):
        await play(tts, text)
    assert inner.calls == ["a", "b", "c", "b"]


async def test_warm_up_and_aclose_reach_the_inner_engine() -> None:
    """The cache forwards the engine's lifecycle (a socket to pre-connect, a client to close)."""
    inner = ScriptedTTS()
    tts = CachedTTS(inner)
    await tts.warm_up()
    assert inner.lifecycle == ["warm_up"]
    await tts.aclose()
    assert inner.lifecycle == ["warm_up", "aclose"]


def test_rejects_nonsense_sizes() -> None:
    """max_entries and chunk_bytes must be positive."""
    with pytest.raises(ValueError):
        CachedTTS(ScriptedTTS(), max_entries=0)
