"""Deepgram Aura voices over REST: ``tts: {name: deepgram}``.

``POST https://api.deepgram.com/v1/speak?model=…&encoding=mulaw&sample_rate=8000&container=none``
with ``{"text": …}``; ``container=none`` matters, as the REST default wraps audio in a WAV
header. One request per message, streamed as it arrives: a cheap extra voice for failover.

Keys: ``endpoint`` (bare host or full URL), ``model`` (the voice, default
``aura-2-thalia-en``), ``language_map`` (assistant language → ``{model}``), ``timeout``
(30 s). The key is read from ``DEEPGRAM_API_KEY``. `VoiceSpec.voice` overrides the model.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import httpx

from telephonist.errors import ProviderError
from telephonist.speech.provider_config import BlockReader, LanguageMap
from telephonist.speech.registry import ProviderContext
from telephonist.speech.tts.base import VoiceSpec
from telephonist.speech.tts.http_stream import stream_post

__all__ = ["DeepgramTTS", "DeepgramTTSSettings", "from_config"]

API_KEY_ENV = "DEEPGRAM_API_KEY"
KEYS = frozenset({"endpoint", "model", "language_map", "timeout"})
DEFAULTS = {"model": "aura-2-thalia-en"}


@dataclass(frozen=True)
class DeepgramTTSSettings:
    """A validated ``tts:`` block. ``api_key`` never appears in the repr."""

    url: str
    api_key: str = field(repr=False)
    languages: LanguageMap = field(default_factory=lambda: LanguageMap(DEFAULTS))
    timeout: float = 30.0


class DeepgramTTS:
    """`TTSEngine` over Deepgram ``/v1/speak``; one pooled HTTP client shared by every call."""

    provider = "deepgram"

    def __init__(
        self, settings: DeepgramTTSSettings, client: httpx.AsyncClient | None = None
    ) -> None:
        self.settings = settings
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(settings.timeout))

    def __repr__(self) -> str:
        return f"DeepgramTTS(url={self.settings.url!r})"

    def params_for(self, voice: VoiceSpec) -> dict[str, str]:
        """The query for one message."""
        entry = self.settings.languages.lookup(voice.language)
        if entry is None:
            raise ProviderError(
                "deepgram", f"language {voice.language!r} is not in language_map", retryable=False
            )
        return {
            "model": voice.voice or entry["model"],
            "encoding": "mulaw",
            "sample_rate": "8000",
            "container": "none",
        }

    async def synthesize(self, text: str, voice: VoiceSpec) -> AsyncGenerator[bytes, None]:
        """Mu-law 8 kHz chunks as Deepgram streams them."""
        headers = {
            "Authorization": f"Token {self.settings.api_key}",
            "Content-Type": "application/json",
        }
        chunks = stream_post(
            self._client,
            self.settings.url,
            provider="deepgram",
            headers=headers,
            json={"text": text},
            params=self.params_for(voice),
        )
        async with aclosing(chunks):  # closing us closes the HTTP response at once
            async for chunk in chunks:
                yield chunk

    async def warm_up(self) -> None:
        """Nothing to load: the pooled client connects on the first message."""

    async def aclose(self) -> None:
        """Close the pooled connections (at shutdown)."""
        await self._client.aclose()


def from_config(config: Mapping[str, Any], context: ProviderContext) -> DeepgramTTS:
    """Validate a ``tts: {name: deepgram, …}`` block (``name`` already removed)."""
    reader = BlockReader(config, context, KEYS)
    settings = DeepgramTTSSettings(
        url=reader.endpoint(kind="http", default_host="api.deepgram.com", default_path="/v1/speak"),
        api_key=reader.api_key(API_KEY_ENV),
        languages=reader.language_map(DEFAULTS, required="model", fields=("model",)),
        timeout=reader.number("timeout", 30.0, minimum=0.1),
    )
    return DeepgramTTS(settings)
