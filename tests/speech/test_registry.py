"""Provider lookup from credentials blocks: built-ins, dotted paths to user classes, errors."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any

import pytest

from telephonist.errors import ConfigError, ProviderError
from telephonist.speech.registry import ProviderContext, build_asr, build_tts
from telephonist.speech.tts.base import VoiceSpec
from telephonist.speech.user_providers import UserTTS


class EchoTTS:
    """A user's own TTS class, loaded by dotted path."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ProviderContext) -> EchoTTS:
        return cls(config)

    async def synthesize(self, text: str, voice: VoiceSpec) -> AsyncGenerator[bytes, None]:
        yield b"\xff" * 160


class Chunks:
    """An async iterator that is not a generator (it has no ``aclose``)."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)

    def __aiter__(self) -> Chunks:
        return self

    async def __anext__(self) -> bytes:
        if not self.chunks:
            raise StopAsyncIteration
        return self.chunks.pop(0)


class IteratorTTS(EchoTTS):
    """A user's TTS whose synthesize returns a plain async iterator, or (for "oops") text."""

    def synthesize(self, text: str, voice: VoiceSpec) -> Any:
        return "not audio" if text == "oops" else Chunks(b"a", b"b")


def context(key: str = "twilio_media_streams.tts") -> ProviderContext:
    """A context whose environment holds a secret."""
    return ProviderContext("credentials.yml", key, {"DEEPGRAM_API_KEY": "dg-secret-value"})


def test_dotted_path_loads_a_users_class():
    """name: package.module.Class builds the user's engine with the rest of the block."""
    engine = build_tts({"name": f"{__name__}.EchoTTS", "voice": "x"}, context())
    assert isinstance(engine, UserTTS) and isinstance(engine.inner, EchoTTS)
    assert engine.inner.config == {"voice": "x"}


async def test_a_users_async_iterator_is_made_a_generator() -> None:
    """Closing it early works as for any engine; something else is a clear provider error."""
    engine = build_tts({"name": f"{__name__}.IteratorTTS"}, context())
    chunks = engine.synthesize("Hi", VoiceSpec())
    assert await anext(chunks) == b"a"
    await chunks.aclose()
    assert [c async for c in engine.synthesize("Hi", VoiceSpec())] == [b"a", b"b"]
    with pytest.raises(ProviderError, match="must return an async iterator of bytes") as error:
        engine.synthesize("oops", VoiceSpec())
    assert error.value.provider == f"{__name__}.IteratorTTS" and not error.value.retryable


@pytest.mark.parametrize(
    "block, message",
    [
        ({}, "'name' is required"),
        ({"name": "google"}, "unknown provider 'google'"),
        ({"name": "nowhere.module.Engine"}, "cannot import 'nowhere.module.Engine'"),
        ({"name": "collections.OrderedDict"}, "has no from_config"),
    ],
)
def test_bad_names_are_located_errors(block, message):
    """Each bad name is a ConfigError naming credentials.yml and the key."""
    with pytest.raises(ConfigError, match=message) as error:
        build_asr(block, context("twilio_media_streams.asr"))
    assert error.value.file == "credentials.yml"
    assert (error.value.key or "").startswith("twilio_media_streams.asr")


def test_context_never_shows_the_environment():
    """Secrets in the environment stay out of reprs (and so out of logs and errors)."""
    assert "dg-secret-value" not in repr(context())
    with pytest.raises(ConfigError) as error:
        build_asr({"name": "google"}, context())
    assert "dg-secret-value" not in str(error.value)
