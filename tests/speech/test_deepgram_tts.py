"""Deepgram Aura TTS against the local fake Aura endpoint, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import pytest
from tests.fakes.aura_server import FakeAura
from tests.fakes.synthetic import synthetic_audio

from telephonist.errors import ConfigError, ProviderError
from telephonist.speech.registry import ProviderContext
from telephonist.speech.tts.base import VoiceSpec
from telephonist.speech.tts.deepgram import DeepgramTTS, from_config

KEY = "dg-tts-secret-987"


def context(environ: Mapping[str, str] | None = None) -> ProviderContext:
    """A provider context with the Deepgram key set."""
    return ProviderContext(
        file="credentials.yml",
        key="twilio_media_streams.tts",
        environ={"DEEPGRAM_API_KEY": KEY} if environ is None else environ,
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeAura]:
    """A running fake Aura endpoint."""
    async with FakeAura(KEY) as server:
        yield server


async def speak(tts: DeepgramTTS, text: str, voice: VoiceSpec | None = None) -> bytes:
    """All the audio for one message."""
    return b"".join([chunk async for chunk in tts.synthesize(text, voice or VoiceSpec())])


async def test_speak_request_matches_the_documented_protocol(fake: FakeAura) -> None:
    """Token auth, mulaw/8000/container=none, the model and a JSON text body."""
    tts = from_config({"endpoint": fake.url}, context())
    assert await speak(tts, "Your table is booked.") == synthetic_audio("Your table is booked.")
    assert fake.requests[0].query == {
        "model": "aura-2-thalia-en",
        "encoding": "mulaw",
        "sample_rate": "8000",
        "container": "none",
    }
    assert fake.requests[0].text == "Your table is booked."
    await speak(tts, "Hi", VoiceSpec(voice="aura-2-orion-en"))
    assert fake.requests[1].query["model"] == "aura-2-orion-en"
    await tts.aclose()


async def test_server_errors_are_retryable_and_auth_errors_are_not(fake: FakeAura) -> None:
    """503 is retryable; a wrong key (401) is not."""
    fake.faults.statuses = [503]
    tts = from_config({"endpoint": fake.url}, context())
    with pytest.raises(ProviderError) as caught:
        await speak(tts, "hello")
    assert caught.value.retryable
    bad = from_config({"endpoint": fake.url}, context({"DEEPGRAM_API_KEY": "bad"}))
    with pytest.raises(ProviderError) as caught:
        await speak(bad, "hello")
    assert not caught.value.retryable
    await tts.aclose()
    await bad.aclose()


def test_config_defaults_and_errors() -> None:
    """Default URL, unknown keys named, missing key variable named."""
    assert from_config({}, context()).settings.url == "https://api.deepgram.com/v1/speak"
    with pytest.raises(ConfigError) as caught:
        from_config({"voice": "x"}, context())
    assert caught.value.key == "twilio_media_streams.tts.voice"
    with pytest.raises(ConfigError, match="DEEPGRAM_API_KEY"):
        from_config({}, context({}))
