"""FallbackTTS over real engines and fake servers: a failed voice hands over to the next."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator

import httpx
import pytest
from tests.fakes.aura_server import FakeAura
from tests.fakes.azure_tts_server import FakeAzureTTS
from tests.fakes.synthetic import synthetic_audio

from telephonist.errors import ConfigError, ProviderError
from telephonist.speech.registry import ProviderContext
from telephonist.speech.tts import azure, deepgram
from telephonist.speech.tts.base import TTSEngine, VoiceSpec
from telephonist.speech.tts.deepgram import DeepgramTTS, DeepgramTTSSettings
from telephonist.speech.tts.fallback import FallbackTTS, TTSFailure

ENV = {"AZURE_SPEECH_API_KEY": "az-key", "DEEPGRAM_API_KEY": "dg-key"}
CONTEXT = ProviderContext(file="credentials.yml", key="twilio_media_streams.tts", environ=ENV)


@pytest.fixture
async def servers() -> AsyncIterator[tuple[FakeAzureTTS, FakeAura]]:
    """A fake Azure (first voice) and a fake Aura (second voice)."""
    async with FakeAzureTTS("az-key") as az, FakeAura("dg-key") as aura:
        yield az, aura


def chain(
    servers: tuple[FakeAzureTTS, FakeAura],
    failures: list[TTSFailure],
    first_chunk_timeout: float | None = None,
) -> FallbackTTS:
    """Azure first, Deepgram Aura second, failures collected."""
    az, aura = servers
    return FallbackTTS(
        [
            ("azure", azure.from_config({"endpoint": az.url}, CONTEXT)),
            ("deepgram", deepgram.from_config({"endpoint": aura.url}, CONTEXT)),
        ],
        on_failure=failures.append,
        first_chunk_timeout=first_chunk_timeout,
    )


async def speak(tts: FallbackTTS, text: str) -> bytes:
    """All the audio for one message; the chain is closed afterwards."""
    try:
        return b"".join([chunk async for chunk in tts.synthesize(text, VoiceSpec())])
    finally:
        await tts.aclose()


async def test_fallback_voice_speaks_after_a_503(servers: tuple[FakeAzureTTS, FakeAura]) -> None:
    """Azure answers 503: Aura speaks the message and the failure is reported once."""
    az, aura = servers
    az.faults.statuses = [503]
    failures: list[TTSFailure] = []
    assert await speak(chain(servers, failures), "One moment.") == synthetic_audio("One moment.")
    assert [r.text for r in aura.requests] == ["One moment."]
    assert failures == [TTSFailure("azure", failures[0].message, True, False, "deepgram")]
    assert "503" in failures[0].message


async def test_healthy_first_voice_is_used_alone(servers: tuple[FakeAzureTTS, FakeAura]) -> None:
    """Without failures only the first engine is asked."""
    az, aura = servers
    failures: list[TTSFailure] = []
    assert await speak(chain(servers, failures), "Hello.") == synthetic_audio("Hello.")
    assert len(az.requests) == 1 and not aura.requests and not failures


async def test_failure_after_audio_started_ends_the_message(
    servers: tuple[FakeAzureTTS, FakeAura],
) -> None:
    """A body cut after the first chunk is reported; the message is not spoken again."""
    az, aura = servers
    az.faults.cut_after_first_chunk = True
    failures: list[TTSFailure] = []
    audio = await speak(chain(servers, failures), "A rather long sentence for two chunks.")
    assert audio == synthetic_audio("A rather long sentence for two chunks.")[: az.chunk_size]
    assert not aura.requests
    assert len(failures) == 1 and failures[0].after_audio and failures[0].next_engine is None


async def test_slow_first_chunk_falls_back(servers: tuple[FakeAzureTTS, FakeAura]) -> None:
    """No first chunk within first_chunk_timeout counts as a retryable failure."""
    az, _ = servers
    az.faults.first_byte_delay = 2.0
    failures: list[TTSFailure] = []
    tts = chain(servers, failures, first_chunk_timeout=0.2)
    assert await speak(tts, "Quick.") == synthetic_audio("Quick.")
    assert failures[0].engine == "azure" and failures[0].retryable


async def test_all_voices_failing_raises_the_last_error(
    servers: tuple[FakeAzureTTS, FakeAura],
) -> None:
    """When every engine fails before audio, the last ProviderError is raised."""
    az, aura = servers
    az.faults.statuses, aura.faults.statuses = [500], [401]
    failures: list[TTSFailure] = []
    with pytest.raises(ProviderError) as caught:
        await speak(chain(servers, failures), "Anyone?")
    assert not caught.value.retryable and "401" in str(caught.value)
    assert [(f.engine, f.next_engine) for f in failures] == [
        ("azure", "deepgram"),
        ("deepgram", None),
    ]


async def test_chain_from_config_blocks(servers: tuple[FakeAzureTTS, FakeAura]) -> None:
    """from_blocks builds each listed provider through the registry."""
    az, aura = servers
    az.faults.statuses = [429]
    tts = FallbackTTS.from_blocks(
        [{"name": "azure", "endpoint": az.url}, {"name": "deepgram", "endpoint": aura.url}], CONTEXT
    )
    assert [name for name, _ in tts.engines] == ["azure", "deepgram"]
    assert await speak(tts, "Hi.") == synthetic_audio("Hi.")


def test_bad_block_in_a_chain_names_its_index_and_key() -> None:
    """A ConfigError in the second block is located at tts[1].<key>."""
    with pytest.raises(ConfigError) as caught:
        FallbackTTS.from_blocks([{"name": "azure"}, {"name": "deepgram", "speed": 2}], CONTEXT)
    assert caught.value.key == "twilio_media_streams.tts[1].speed"


class FailsToClose:
    """A voice whose shutdown fails after it released its own client."""

    def __init__(self, inner: TTSEngine, name: str) -> None:
        self.inner, self.name = inner, name

    def synthesize(self, text: str, voice: VoiceSpec) -> AsyncGenerator[bytes, None]:
        return self.inner.synthesize(text, voice)

    async def warm_up(self) -> None:
        await self.inner.warm_up()

    async def aclose(self) -> None:
        await self.inner.aclose()
        raise ProviderError(self.name, "shutdown failed", retryable=False)


async def test_every_voice_is_closed_when_one_fails_to_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A voice whose aclose raises does not leave the voices after it open; every failure is
    logged with its voice, and the last one is raised once all are closed."""
    clients = [httpx.AsyncClient() for _ in range(3)]
    settings = DeepgramTTSSettings(url="http://127.0.0.1:9/v1/speak", api_key="dg-key")
    tts = FallbackTTS(
        [
            ("first", FailsToClose(DeepgramTTS(settings, clients[0]), "first")),
            ("second", FailsToClose(DeepgramTTS(settings, clients[1]), "second")),
            ("third", DeepgramTTS(settings, clients[2])),
        ]
    )
    with (
        caplog.at_level(logging.WARNING, logger="telephonist.speech.tts.fallback"),
        pytest.raises(ProviderError) as caught,
    ):
        await tts.aclose()
    assert [c.is_closed for c in clients] == [True, True, True]
    assert caught.value.provider == "second"
    assert [r.getMessage() for r in caplog.records] == [
        "tts.close_failed engine=first error=first: shutdown failed",
        "tts.close_failed engine=second error=second: shutdown failed",
    ]
