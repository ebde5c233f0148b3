"""Azure TTS REST against the local fake Azure endpoint, over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from typing import Any

import pytest
from tests.fakes.azure_tts_server import FakeAzureTTS
from tests.fakes.synthetic import synthetic_audio

from telephonist.errors import ConfigError, ProviderError
from telephonist.speech.registry import ProviderContext
from telephonist.speech.tts.azure import AzureTTS, build_ssml, from_config
from telephonist.speech.tts.base import VoiceSpec

KEY = "az-secret-abcdef"


def context(environ: Mapping[str, str] | None = None) -> ProviderContext:
    """A provider context with the Azure key set."""
    return ProviderContext(
        file="credentials.yml",
        key="twilio_media_streams.tts",
        environ={"AZURE_SPEECH_API_KEY": KEY} if environ is None else environ,
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeAzureTTS]:
    """A running fake Azure TTS endpoint."""
    async with FakeAzureTTS(KEY) as server:
        yield server


async def engine(fake: FakeAzureTTS, **config: Any) -> AzureTTS:
    """An AzureTTS pointed at ``fake``."""
    return from_config({"endpoint": fake.url, **config}, context())


async def speak(tts: AzureTTS, text: str, voice: VoiceSpec | None = None) -> bytes:
    """All the audio for one message."""
    return b"".join([chunk async for chunk in tts.synthesize(text, voice or VoiceSpec())])


async def test_request_carries_documented_headers_and_escaped_ssml(fake: FakeAzureTTS) -> None:
    """Key, SSML content type, raw mu-law output format, User-Agent; text survives escaping."""
    tts = await engine(fake)
    text = "Fish & chips <today> for 'two'"
    assert await speak(tts, text) == synthetic_audio(text)
    request = fake.requests[0]
    assert (request.voice, request.language, request.text) == ("en-US-JennyNeural", "en-US", text)
    assert request.output_format == "raw-8khz-8bit-mono-mulaw" and request.user_agent
    await tts.aclose()


async def test_raw_ssml_is_passed_through(fake: FakeAzureTTS) -> None:
    """A message with its own SSML is sent byte for byte."""
    tts = await engine(fake)
    ssml = build_ssml("Cheers", language="en-GB", voice="en-GB-RyanNeural")
    await speak(tts, "ignored", VoiceSpec(ssml=ssml))
    assert fake.requests[0].ssml == ssml and fake.requests[0].voice == "en-GB-RyanNeural"
    await tts.aclose()


async def test_language_map_and_voice_override(fake: FakeAzureTTS) -> None:
    """language_map picks the voice per language; VoiceSpec.voice overrides it."""
    tts = await engine(
        fake,
        language_map={
            "en": {"language": "en-US", "voice": "en-US-AriaNeural"},
            "de": {"language": "de-DE", "voice": "de-DE-KatjaNeural"},
        },
    )
    await speak(tts, "Hallo", VoiceSpec(language="de"))
    await speak(tts, "Hi", VoiceSpec(language="en", voice="en-US-GuyNeural"))
    assert [(r.language, r.voice) for r in fake.requests] == [
        ("de-DE", "de-DE-KatjaNeural"),
        ("en-US", "en-US-GuyNeural"),
    ]
    with pytest.raises(ProviderError):
        await speak(tts, "Bonjour", VoiceSpec(language="fr"))
    await tts.aclose()


async def test_body_is_streamed_as_it_arrives(fake: FakeAzureTTS) -> None:
    """The first chunk reaches us while the server still holds the rest of the body."""
    fake.faults.hold_after_first_chunk = release = asyncio.Event()
    tts = await engine(fake)
    async with aclosing(tts.synthesize("a longer sentence to stream", VoiceSpec())) as chunks:
        first = await anext(chunks)
        assert first and fake.bytes_sent[0] == fake.chunk_size
        release.set()
        rest = b"".join([chunk async for chunk in chunks])
    assert first + rest == synthetic_audio("a longer sentence to stream")
    await tts.aclose()


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (400, False),
        (401, False),
        (403, False),
        (415, False),
    ],
)
async def test_http_errors_are_classified(fake: FakeAzureTTS, status: int, retryable: bool) -> None:
    """Rate limits and server errors are retryable; request and auth errors are not."""
    fake.faults.statuses = [status]
    tts = await engine(fake)
    with pytest.raises(ProviderError) as caught:
        await speak(tts, "hello")
    assert caught.value.retryable is retryable and str(status) in str(caught.value)
    await tts.aclose()


async def test_wrong_key_is_a_fatal_401(fake: FakeAzureTTS) -> None:
    """The fake really checks the key; the error does not echo it."""
    tts = from_config({"endpoint": fake.url}, context({"AZURE_SPEECH_API_KEY": "nope-123"}))
    with pytest.raises(ProviderError, match="401") as caught:
        await speak(tts, "hello")
    assert not caught.value.retryable and "nope-123" not in str(caught.value)
    await tts.aclose()


async def test_slow_first_byte_times_out_as_retryable(fake: FakeAzureTTS) -> None:
    """A first byte slower than ``timeout`` is a retryable ProviderError."""
    fake.faults.first_byte_delay = 2.0
    tts = await engine(fake, timeout=0.2)
    with pytest.raises(ProviderError, match="timed out") as caught:
        await speak(tts, "hello")
    assert caught.value.retryable
    await tts.aclose()


def test_default_url_uses_the_region_and_bare_hosts_get_https() -> None:
    """speech_region builds the regional URL; a bare endpoint host gets https and the path."""
    assert (
        from_config({}, context()).settings.url
        == "https://eastus.tts.speech.microsoft.com/cognitiveservices/v1"
    )
    assert (
        from_config({"speech_region": "westeurope"}, context()).settings.url
        == "https://westeurope.tts.speech.microsoft.com/cognitiveservices/v1"
    )
    assert (
        from_config({"endpoint": "tts.internal:8443"}, context()).settings.url
        == "https://tts.internal:8443/cognitiveservices/v1"
    )


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"ws_endpoint": "wss://x"}, "twilio_media_streams.tts.ws_endpoint"),
        ({"timeout": -1}, "twilio_media_streams.tts.timeout"),
        ({"voice": "x", "language_map": {"en": {"voice": "y"}}}, "twilio_media_streams.tts.voice"),
        (
            {"language_map": {"en": {"language": "en-US"}}},
            "twilio_media_streams.tts.language_map.en.voice",
        ),
    ],
)
def test_config_errors_name_the_key(config: dict[str, Any], key: str) -> None:
    """Each invalid block is a ConfigError located at the offending key."""
    with pytest.raises(ConfigError) as caught:
        from_config(config, context())
    assert caught.value.key == key


def test_missing_key_names_the_variable_and_repr_hides_the_key() -> None:
    """No AZURE_SPEECH_API_KEY fails at start-up; reprs never show the key."""
    with pytest.raises(ConfigError, match="AZURE_SPEECH_API_KEY"):
        from_config({}, context({}))
    tts = from_config({}, context())
    assert KEY not in repr(tts) and KEY not in repr(tts.settings)
