"""Deepgram Nova live recognition: ``asr: {name: deepgram}``.

Keys (Rasa's, plus ours): ``endpoint`` (bare host or full URL; default ``api.deepgram.com``),
``endpointing`` (ms of silence that ends a turn, default 400, or ``false``), ``smart_format``
(true), ``utterance_end_ms`` (1000; 0 disables ``UtteranceEnd``), ``keep_alive_interval``
(5 s), ``language_map`` (assistant language → ``{language, model}``; default
``{language: en, model: nova-3}``), the deprecated top-level ``language`` / ``model``, and
``reconnect_attempts`` (5). The key is read from ``DEEPGRAM_API_KEY``.

The query always asks for ``encoding=mulaw&sample_rate=8000``, interim results (partials feed
barge-in) and ``vad_events`` (``SpeechStarted`` feeds barge-in at once).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from telephonist.errors import ProviderError
from telephonist.speech.asr.base import ASRCapabilities
from telephonist.speech.asr.deepgram_stream import DeepgramStream, StreamTiming
from telephonist.speech.provider_config import BlockReader, LanguageMap
from telephonist.speech.registry import ProviderContext

__all__ = ["DeepgramASR", "DeepgramSettings", "from_config"]

API_KEY_ENV = "DEEPGRAM_API_KEY"
DEFAULT_HOST = "api.deepgram.com"
LISTEN_PATH = "/v1/listen"
KEYS = frozenset(
    {
        "endpoint",
        "endpointing",
        "smart_format",
        "utterance_end_ms",
        "keep_alive_interval",
        "language_map",
        "language",
        "model",
        "reconnect_attempts",
    }
)


@dataclass(frozen=True)
class DeepgramSettings:
    """A validated ``asr:`` block. ``api_key`` never appears in the repr."""

    url: str
    api_key: str = field(repr=False)
    languages: LanguageMap = field(
        default_factory=lambda: LanguageMap({"language": "en", "model": "nova-3"})
    )
    endpointing: int | None = 400
    smart_format: bool = True
    utterance_end_ms: int = 1000
    timing: StreamTiming = field(default_factory=StreamTiming)

    def url_for(self, language: str) -> str:
        """The listen URL, query included, for the assistant ``language``."""
        entry = self.languages.lookup(language)
        if entry is None:
            raise ProviderError(
                "deepgram", f"language {language!r} is not in language_map", retryable=False
            )
        query = {
            "encoding": "mulaw",
            "sample_rate": "8000",
            "model": entry["model"],
            "language": entry["language"],
            "interim_results": "true",
            "smart_format": "true" if self.smart_format else "false",
            "vad_events": "true",
            "endpointing": "false" if self.endpointing is None else str(self.endpointing),
        }
        if self.utterance_end_ms > 0:
            query["utterance_end_ms"] = str(self.utterance_end_ms)
        return f"{self.url}?{urlencode(query)}"


class DeepgramASR:
    """`ASRProvider`: one `DeepgramStream` per call, connected as soon as it is opened."""

    capabilities = ASRCapabilities()
    """Deepgram finds the end of speech itself: every frame goes to it on arrival."""

    def __init__(
        self, settings: DeepgramSettings, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self._clock = clock

    def __repr__(self) -> str:
        return f"DeepgramASR(url={self.settings.url!r})"

    async def open_stream(self, language: str) -> DeepgramStream:
        """Connect now (pre-warm friendly); raises ProviderError if Deepgram cannot be reached."""
        stream = DeepgramStream(
            self.settings.url_for(language),
            {"Authorization": f"Token {self.settings.api_key}"},
            self.settings.timing,
            clock=self._clock,
        )
        await stream.start()
        return stream

    async def warm_up(self) -> None:
        """Nothing to prepare: each call connects its own stream (pre-warmed per call at the
        webhook instead, see `telephonist.server.prewarm`)."""

    async def aclose(self) -> None:
        """Nothing shared to release: each stream closes its own connection."""


def _endpointing(reader: BlockReader) -> int | None:
    value = reader.config.get("endpointing")
    if value is False:
        return None
    return reader.integer("endpointing", 400, minimum=10)


def from_config(config: Mapping[str, Any], context: ProviderContext) -> DeepgramASR:
    """Validate an ``asr: {name: deepgram, …}`` block (``name`` already removed)."""
    reader = BlockReader(config, context, KEYS)
    languages = reader.language_map(
        {"language": "en", "model": "nova-3"}, required="language", fields=("language", "model")
    )
    for name, entry in [("", languages.defaults), *languages.entries.items()]:
        if entry.get("model", "").startswith("flux"):
            where = f"language_map.{name}.model" if name else "model"
            raise reader.error(
                "Flux models speak a different protocol; use a nova model", key=where
            )
    timing = StreamTiming(
        keep_alive_interval=reader.number("keep_alive_interval", 5.0, minimum=0.5),
        reconnect_attempts=reader.integer("reconnect_attempts", 5, minimum=0),
    )
    settings = DeepgramSettings(
        url=reader.endpoint(kind="websocket", default_host=DEFAULT_HOST, default_path=LISTEN_PATH),
        api_key=reader.api_key(API_KEY_ENV),
        languages=languages,
        endpointing=_endpointing(reader),
        smart_format=reader.boolean("smart_format", True),
        utterance_end_ms=reader.integer("utterance_end_ms", 1000, minimum=0),
        timing=timing,
    )
    return DeepgramASR(settings)
