"""Azure ASR adapter, driven by an injected recognizer that fires SDK-style callbacks on threads.

The SDK's own wire protocol is private (see protocols.md §3b), so the adapter is tested at the
SDK's API: the fake recognizer has the same signals, start/stop futures and push stream, and
fires its callbacks from other threads as the native SDK does.
"""

from __future__ import annotations

import asyncio
import enum
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from telephonist.errors import ConfigError, ProviderError
from telephonist.speech.asr.azure import (
    AzureASR,
    AzureStream,
    PushStream,
    Recognizer,
    from_config,
    parse_settings,
)
from telephonist.speech.asr.base import ASRError, ASREvent, Final, Partial, SpeechStarted
from telephonist.speech.registry import ProviderContext

KEY = "az-asr-secret-77"


class ResultReason(enum.Enum):
    """Names and values as in the SDK's enums.py."""

    NoMatch = 0
    RecognizingSpeech = 2
    RecognizedSpeech = 3


class CancellationReason(enum.Enum):
    """Names and values as in the SDK's enums.py."""

    Error = 1
    EndOfStream = 2
    CancelledByUser = 3


class CancellationErrorCode(enum.Enum):
    """A few of the SDK's error codes."""

    AuthenticationFailure = 1
    ServiceTimeout = 6


class Signal:
    """An EventSignal: callbacks connected, fired from another thread."""

    def __init__(self) -> None:
        self.callbacks: list[Callable[[Any], None]] = []

    def connect(self, callback: Callable[[Any], None]) -> None:
        self.callbacks.append(callback)

    def fire(self, event: Any) -> None:
        thread = threading.Thread(target=lambda: [cb(event) for cb in self.callbacks])
        thread.start()
        thread.join()


class Done:
    """A ResultFuture that is already resolved."""

    def get(self) -> None:
        return None


@dataclass
class FakePush:
    """A PushAudioInputStream that keeps what it is given."""

    audio: bytearray = field(default_factory=bytearray)
    closed: bool = False

    def write(self, buffer: bytes) -> None:
        self.audio += buffer

    def close(self) -> None:
        self.closed = True


class FakeRecognizer:
    """The SpeechRecognizer surface the adapter uses."""

    def __init__(self, fail_start: bool = False) -> None:
        self.recognizing, self.recognized = Signal(), Signal()
        self.canceled, self.speech_start_detected = Signal(), Signal()
        self.started = self.stopped = False
        self.fail_start = fail_start

    def start_continuous_recognition_async(self) -> Done:
        if self.fail_start:
            raise RuntimeError("Exception with error code: 0x5 (SPXERR_INVALID_ARG)")
        self.started = True
        return Done()

    def stop_continuous_recognition_async(self) -> Done:
        self.stopped = True
        return Done()

    def result(self, signal: Signal, text: str, reason: ResultReason) -> None:
        signal.fire(SimpleNamespace(result=SimpleNamespace(text=text, reason=reason)))

    def cancel(
        self,
        reason: CancellationReason,
        code: CancellationErrorCode | None = None,
        details: str = "",
    ) -> None:
        self.canceled.fire(
            SimpleNamespace(
                cancellation_details=SimpleNamespace(
                    reason=reason, error_code=code, error_details=details
                )
            )
        )


def context(environ: Mapping[str, str] | None = None) -> ProviderContext:
    """A provider context with the Azure key set."""
    return ProviderContext(
        file="credentials.yml",
        key="twilio_media_streams.asr",
        environ={"AZURE_SPEECH_API_KEY": KEY} if environ is None else environ,
    )


@pytest.fixture
async def opened() -> AsyncIterator[tuple[AzureStream, FakeRecognizer, FakePush, list[str]]]:
    """A stream over a fake recognizer; also the languages the factory was asked for."""
    recognizer, push, languages = FakeRecognizer(), FakePush(), []

    def factory(language: str) -> tuple[Recognizer, PushStream]:
        languages.append(language)
        return recognizer, push

    settings = parse_settings(
        {"speech_region": "eastus", "language_map": {"en": {"language": "en-GB"}}}, context()
    )
    stream = await AzureASR(settings, factory).open_stream("en")
    yield stream, recognizer, push, languages
    await stream.close()


async def drain(stream: AzureStream) -> list[ASREvent]:
    """Every event until the stream ends."""
    async with asyncio.timeout(5):
        return [event async for event in stream.events()]


async def test_callbacks_become_events_on_the_loop(
    opened: tuple[AzureStream, FakeRecognizer, FakePush, list[str]],
) -> None:
    """speech start, recognizing and recognized arrive as SpeechStarted/Partial/Final in order."""
    stream, recognizer, push, languages = opened
    assert recognizer.started and languages == ["en-GB"]
    await stream.send(b"\x01\x02" * 80)
    recognizer.speech_start_detected.fire(SimpleNamespace())
    recognizer.result(recognizer.recognizing, "book a", ResultReason.RecognizingSpeech)
    recognizer.result(recognizer.recognized, "Book a table.", ResultReason.RecognizedSpeech)
    recognizer.result(recognizer.recognized, "", ResultReason.NoMatch)
    await stream.close()
    assert await drain(stream) == [SpeechStarted(), Partial("book a"), Final("Book a table.")]
    assert bytes(push.audio) == b"\x01\x02" * 80 and push.closed and recognizer.stopped


async def test_canceled_with_error_yields_asr_error_and_ends(
    opened: tuple[AzureStream, FakeRecognizer, FakePush, list[str]],
) -> None:
    """An auth failure is a non-retryable ASRError; the stream then ends."""
    stream, recognizer, _, _ = opened
    recognizer.cancel(
        CancellationReason.Error,
        CancellationErrorCode.AuthenticationFailure,
        "WebSocket upgrade failed: Authentication error (401)",
    )
    events = await drain(stream)
    assert len(events) == 1 and isinstance(events[0], ASRError)
    assert not events[0].retryable and "AuthenticationFailure" in events[0].message


async def test_service_timeout_is_retryable(
    opened: tuple[AzureStream, FakeRecognizer, FakePush, list[str]],
) -> None:
    """Transient service errors are marked retryable."""
    stream, recognizer, _, _ = opened
    recognizer.cancel(CancellationReason.Error, CancellationErrorCode.ServiceTimeout)
    events = await drain(stream)
    assert isinstance(events[0], ASRError) and events[0].retryable


async def test_end_of_stream_ends_quietly(
    opened: tuple[AzureStream, FakeRecognizer, FakePush, list[str]],
) -> None:
    """EndOfStream cancellation ends events() without an error."""
    stream, recognizer, _, _ = opened
    recognizer.cancel(CancellationReason.EndOfStream)
    assert await drain(stream) == []


async def test_start_failure_is_a_provider_error() -> None:
    """A recognizer that cannot start makes open_stream raise ProviderError."""
    settings = parse_settings({"speech_region": "eastus"}, context())

    def factory(language: str) -> tuple[Recognizer, PushStream]:
        return FakeRecognizer(fail_start=True), FakePush()

    asr = AzureASR(settings, factory)
    with pytest.raises(ProviderError, match="cannot start"):
        await asr.open_stream("en")


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({}, "twilio_media_streams.asr.speech_region"),
        (
            {"speech_region": "eastus", "speech_host": "ws://localhost:5000"},
            "twilio_media_streams.asr.speech_host",
        ),
        ({"speech_region": "eastus", "region": "x"}, "twilio_media_streams.asr.region"),
        (
            {"speech_region": "eastus", "language_map": {"en": {"voice": "x"}}},
            "twilio_media_streams.asr.language_map.en.voice",
        ),
    ],
)
def test_config_errors_name_the_key(config: dict[str, Any], key: str) -> None:
    """Location keys: exactly one; unknown keys and bad maps are named."""
    with pytest.raises(ConfigError) as caught:
        parse_settings(config, context())
    assert caught.value.key == key


def test_missing_key_and_missing_sdk_are_start_up_errors() -> None:
    """No AZURE_SPEECH_API_KEY, or no SDK installed, fails from_config; reprs hide the key."""
    with pytest.raises(ConfigError, match="AZURE_SPEECH_API_KEY"):
        parse_settings({"speech_host": "ws://localhost:5000"}, context({}))
    settings = parse_settings({"speech_endpoint": "wss://x/stt"}, context())
    assert KEY not in repr(settings) and KEY not in repr(AzureASR(settings))
    try:
        import azure.cognitiveservices.speech  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match=r"telephonist\[azure\]"):
            from_config({"speech_region": "eastus"}, context())
