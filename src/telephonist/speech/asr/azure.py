"""Azure Speech recognition through the official SDK: ``asr: {name: azure}``.

The SDK's wire protocol is private, so this module is a thin adapter: a recognizer with a
push stream of mu-law 8 kHz audio, continuous recognition, and its callbacks (fired on SDK
threads) moved onto the event loop with ``call_soon_threadsafe``. ``recognizing`` →
`Partial`, ``recognized`` → `Final`, ``speech_start_detected`` → `SpeechStarted`,
``canceled`` with an error → `ASRError`. The SDK (``pip install 'telephonist[azure]'``) is
imported only when a real recognizer is built; tests inject a `RecognizerFactory`.

Keys: exactly one of ``speech_region`` (e.g. ``eastus``), ``speech_host``
(``ws://localhost:5000`` for a container) or ``speech_endpoint`` (a full ``wss://`` URL);
``language_map`` (assistant language → ``{language}``; default ``en-US``) or the deprecated
top-level ``language``. The key is read from ``AZURE_SPEECH_API_KEY``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from telephonist.errors import ProviderError
from telephonist.speech.asr.base import (
    ASRCapabilities,
    ASRError,
    ASREvent,
    Final,
    Partial,
    SpeechStarted,
)
from telephonist.speech.provider_config import BlockReader, LanguageMap
from telephonist.speech.registry import ProviderContext

__all__ = [
    "AzureASR",
    "AzureASRSettings",
    "AzureStream",
    "PushStream",
    "Recognizer",
    "RecognizerFactory",
    "from_config",
    "parse_settings",
]

logger = logging.getLogger(__name__)

API_KEY_ENV = "AZURE_SPEECH_API_KEY"
LOCATION_KEYS = ("speech_region", "speech_host", "speech_endpoint")
KEYS = frozenset({*LOCATION_KEYS, "language", "language_map"})
RETRYABLE_ERRORS = frozenset(
    {
        "TooManyRequests",
        "ConnectionFailure",
        "ServiceTimeout",
        "ServiceError",
        "ServiceUnavailable",
        "ServiceRedirectTemporary",
    }
)


class Signal(Protocol):
    """An SDK event signal (``EventSignal``)."""

    def connect(self, callback: Callable[[Any], None]) -> None: ...


class Recognizer(Protocol):
    """The part of ``speechsdk.SpeechRecognizer`` the adapter uses."""

    @property
    def recognizing(self) -> Signal: ...
    @property
    def recognized(self) -> Signal: ...
    @property
    def canceled(self) -> Signal: ...
    @property
    def speech_start_detected(self) -> Signal: ...

    def start_continuous_recognition_async(self) -> Any: ...
    def stop_continuous_recognition_async(self) -> Any: ...


class PushStream(Protocol):
    """The part of ``speechsdk.audio.PushAudioInputStream`` the adapter uses."""

    def write(self, buffer: bytes) -> None: ...
    def close(self) -> None: ...


RecognizerFactory = Callable[[str], tuple[Recognizer, PushStream]]
"""Engine language (e.g. ``en-US``) → a recognizer reading from a mu-law 8 kHz push stream."""


@dataclass(frozen=True)
class AzureASRSettings:
    """A validated ``asr:`` block; exactly one of region/host/endpoint is set."""

    api_key: str = field(repr=False)
    region: str | None = None
    host: str | None = None
    endpoint: str | None = None
    languages: LanguageMap = field(default_factory=lambda: LanguageMap({"language": "en-US"}))


def sdk_factory(settings: AzureASRSettings) -> RecognizerFactory:
    """The real recognizer factory, over ``azure.cognitiveservices.speech``."""

    def build(language: str) -> tuple[Recognizer, PushStream]:
        try:
            import azure.cognitiveservices.speech as speechsdk  # optional extra: imported lazily
        except ImportError as exc:
            raise ProviderError(
                "azure",
                "the Azure Speech SDK is not installed (pip install 'telephonist[azure]')",
                retryable=False,
            ) from exc
        if settings.endpoint:
            config = speechsdk.SpeechConfig(
                subscription=settings.api_key, endpoint=settings.endpoint
            )
        elif settings.host:
            config = speechsdk.SpeechConfig(subscription=settings.api_key, host=settings.host)
        else:
            config = speechsdk.SpeechConfig(subscription=settings.api_key, region=settings.region)
        config.speech_recognition_language = language
        audio_format = speechsdk.audio.AudioStreamFormat(
            samples_per_second=8000,
            bits_per_sample=8,
            channels=1,
            wave_stream_format=speechsdk.audio.AudioStreamWaveFormat.MULAW,
        )
        push = speechsdk.audio.PushAudioInputStream(stream_format=audio_format)
        recognizer = speechsdk.SpeechRecognizer(
            speech_config=config, audio_config=speechsdk.audio.AudioConfig(stream=push)
        )
        return recognizer, push

    return build


def _name(value: Any) -> str:
    return str(getattr(value, "name", value))


class AzureStream:
    """An `ASRStream` over one SDK recognizer; every callback is handled on the loop."""

    def __init__(
        self, recognizer: Recognizer, push: PushStream, loop: asyncio.AbstractEventLoop
    ) -> None:
        self._recognizer = recognizer
        self._push = push
        self._loop = loop
        self._events: asyncio.Queue[ASREvent | None] = asyncio.Queue()
        self._ended = False
        for signal, handler in (
            (recognizer.recognizing, self._on_recognizing),
            (recognizer.recognized, self._on_recognized),
            (recognizer.canceled, self._on_canceled),
            (recognizer.speech_start_detected, self._on_speech_start),
        ):
            signal.connect(self._threadsafe(handler))

    def _threadsafe(self, handler: Callable[[Any], None]) -> Callable[[Any], None]:
        def callback(event: Any) -> None:  # runs on an SDK thread
            self._loop.call_soon_threadsafe(handler, event)

        return callback

    async def start(self) -> None:
        """Start continuous recognition (blocking SDK call, run in a thread)."""
        try:
            await asyncio.to_thread(
                lambda: self._recognizer.start_continuous_recognition_async().get()
            )
        except RuntimeError as exc:  # how the SDK reports failures
            raise ProviderError(
                "azure", f"cannot start recognition: {exc}", retryable=True
            ) from None

    async def send(self, audio: bytes) -> None:
        """Write mu-law audio to the push stream (buffered by the SDK, never blocks)."""
        if audio and not self._ended:
            self._push.write(audio)

    async def on_vad(self, speaking: bool) -> None:
        """Azure segments on its own silence detection; our VAD's hints are not needed."""

    async def on_pause(self, paused: bool) -> None:
        """Not asked for (Azure declares no ``pause_ms``)."""

    async def events(self) -> AsyncIterator[ASREvent]:
        """SpeechStarted / Partial / Final, and ASRError if the service cancels with an error."""
        while True:
            event = await self._events.get()
            if event is None:
                return
            yield event

    async def close(self) -> None:
        """Close the push stream and stop recognition; ``events()`` ends."""
        if not self._ended:
            self._push.close()
            try:
                await asyncio.to_thread(
                    lambda: self._recognizer.stop_continuous_recognition_async().get()
                )
            except RuntimeError as exc:  # stopping a failed session may raise; nothing to do
                logger.debug("azure.stop_failed error=%s", exc)
        self._end()

    def _on_speech_start(self, event: Any) -> None:
        self._put(SpeechStarted())

    def _on_recognizing(self, event: Any) -> None:
        text = str(getattr(event.result, "text", "") or "").strip()
        if text:
            self._put(Partial(text))

    def _on_recognized(self, event: Any) -> None:
        result = event.result
        text = str(getattr(result, "text", "") or "").strip()
        if _name(getattr(result, "reason", "")) == "RecognizedSpeech" and text:
            self._put(Final(text))

    def _on_canceled(self, event: Any) -> None:
        details = getattr(event, "cancellation_details", event)
        if _name(getattr(details, "reason", "")) == "Error":
            code = _name(getattr(details, "error_code", "unknown"))
            text = str(getattr(details, "error_details", "") or "").strip()
            logger.warning("azure.canceled code=%s details=%s", code, text)
            self._put(
                ASRError(
                    f"azure: {code}: {text}" if text else f"azure: {code}",
                    retryable=code in RETRYABLE_ERRORS,
                )
            )
        self._end()

    def _put(self, event: ASREvent) -> None:
        if not self._ended:
            self._events.put_nowait(event)

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            self._events.put_nowait(None)


class AzureASR:
    """`ASRProvider`: one recognizer (and session) per call, started at `open_stream`."""

    capabilities = ASRCapabilities()
    """Azure finds the end of speech itself: every frame goes to it on arrival."""

    def __init__(
        self, settings: AzureASRSettings, factory: RecognizerFactory | None = None
    ) -> None:
        self.settings = settings
        self._factory = factory or sdk_factory(settings)

    def __repr__(self) -> str:
        where = self.settings.region or self.settings.host or self.settings.endpoint
        return f"AzureASR({where!r})"

    async def open_stream(self, language: str) -> AzureStream:
        """Build a recognizer for ``language`` and start continuous recognition."""
        entry = self.settings.languages.lookup(language)
        if entry is None:
            raise ProviderError(
                "azure", f"language {language!r} is not in language_map", retryable=False
            )
        recognizer, push = await asyncio.to_thread(self._factory, entry["language"])
        stream = AzureStream(recognizer, push, asyncio.get_running_loop())
        await stream.start()
        return stream

    async def warm_up(self) -> None:
        """Nothing to prepare: each call opens its own recognizer."""

    async def aclose(self) -> None:
        """Nothing shared to release: each stream closes its own recognizer."""


def parse_settings(config: Mapping[str, Any], context: ProviderContext) -> AzureASRSettings:
    """Validate the block (without requiring the SDK)."""
    reader = BlockReader(config, context, KEYS)
    given = [key for key in LOCATION_KEYS if reader.string(key)]
    if len(given) != 1:
        raise reader.error(
            f"set exactly one of {', '.join(LOCATION_KEYS)}"
            + (f" (got {', '.join(given)})" if given else ""),
            key=given[1] if len(given) > 1 else LOCATION_KEYS[0],
        )
    return AzureASRSettings(
        api_key=reader.api_key(API_KEY_ENV),
        region=reader.string("speech_region"),
        host=reader.string("speech_host"),
        endpoint=reader.string("speech_endpoint"),
        languages=reader.language_map(
            {"language": "en-US"}, required="language", fields=("language",)
        ),
    )


def from_config(config: Mapping[str, Any], context: ProviderContext) -> AzureASR:
    """Validate an ``asr: {name: azure, …}`` block; the SDK must be installed."""
    settings = parse_settings(config, context)
    try:
        installed = importlib.util.find_spec("azure.cognitiveservices.speech") is not None
    except ModuleNotFoundError:
        installed = False
    if not installed:
        raise context.error(
            "the Azure Speech SDK is not installed; pip install 'telephonist[azure]'"
        )
    return AzureASR(settings)
