"""Azure neural voices over REST: ``tts: {name: azure}``.

``POST https://{speech_region}.tts.speech.microsoft.com/cognitiveservices/v1`` with an SSML
body and ``X-Microsoft-OutputFormat: raw-8khz-8bit-mono-mulaw`` (headerless mu-law, what
Twilio plays); the body is streamed as it arrives. The message text is XML-escaped (Rasa
inserts it raw); a message that carries its own SSML (`VoiceSpec.ssml`) is sent unchanged.

Keys: ``speech_region`` (default ``eastus``), ``endpoint`` (bare host or full URL; replaces
the regional host, e.g. a container's ``http://localhost:5000``), ``language_map``
(assistant language → ``{language, voice}``; default ``{language: en-US, voice:
en-US-JennyNeural}``), the deprecated top-level ``language`` / ``voice``, ``timeout``
(30 s). The key is read from ``AZURE_SPEECH_API_KEY``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import httpx

from telephonist.errors import ProviderError
from telephonist.speech.provider_config import BlockReader, LanguageMap
from telephonist.speech.registry import ProviderContext
from telephonist.speech.tts.base import VoiceSpec
from telephonist.speech.tts.http_stream import stream_post

__all__ = ["AzureTTS", "AzureTTSSettings", "build_ssml", "from_config"]

API_KEY_ENV = "AZURE_SPEECH_API_KEY"
SYNTHESIS_PATH = "/cognitiveservices/v1"
OUTPUT_FORMAT = "raw-8khz-8bit-mono-mulaw"
USER_AGENT = "telephonist"
KEYS = frozenset({"speech_region", "endpoint", "language_map", "language", "voice", "timeout"})
DEFAULTS = {"language": "en-US", "voice": "en-US-JennyNeural"}


def build_ssml(text: str, *, language: str, voice: str) -> str:
    """A minimal SSML document speaking ``text`` (escaped) with ``voice``."""
    return (
        f"<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' "
        f"xml:lang={quoteattr(language)}><voice name={quoteattr(voice)}>"
        f"{escape(text)}</voice></speak>"
    )


@dataclass(frozen=True)
class AzureTTSSettings:
    """A validated ``tts:`` block. ``api_key`` never appears in the repr."""

    url: str
    api_key: str = field(repr=False)
    languages: LanguageMap = field(default_factory=lambda: LanguageMap(DEFAULTS))
    timeout: float = 30.0


class AzureTTS:
    """`TTSEngine` over the Azure REST API; one pooled HTTP client shared by every call."""

    provider = "azure"

    def __init__(self, settings: AzureTTSSettings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(settings.timeout))

    def __repr__(self) -> str:
        return f"AzureTTS(url={self.settings.url!r})"

    def ssml_for(self, text: str, voice: VoiceSpec) -> str:
        """The request body for one message."""
        if voice.ssml:
            return voice.ssml
        entry = self.settings.languages.lookup(voice.language)
        if entry is None:
            raise ProviderError(
                "azure", f"language {voice.language!r} is not in language_map", retryable=False
            )
        return build_ssml(text, language=entry["language"], voice=voice.voice or entry["voice"])

    async def synthesize(self, text: str, voice: VoiceSpec) -> AsyncGenerator[bytes, None]:
        """Mu-law 8 kHz chunks as Azure streams them."""
        headers = {
            "Ocp-Apim-Subscription-Key": self.settings.api_key,
            "Content-Type": "application/ssml+xml",
            "X-Microsoft-OutputFormat": OUTPUT_FORMAT,
            "User-Agent": USER_AGENT,
        }
        body = self.ssml_for(text, voice).encode("utf-8")
        chunks = stream_post(
            self._client, self.settings.url, provider="azure", headers=headers, content=body
        )
        async with aclosing(chunks):  # closing us closes the HTTP response at once
            async for chunk in chunks:
                yield chunk

    async def warm_up(self) -> None:
        """Nothing to load: the pooled client connects on the first message."""

    async def aclose(self) -> None:
        """Close the pooled connections (at shutdown)."""
        await self._client.aclose()


def from_config(config: Mapping[str, Any], context: ProviderContext) -> AzureTTS:
    """Validate a ``tts: {name: azure, …}`` block (``name`` already removed)."""
    reader = BlockReader(config, context, KEYS)
    region = reader.string("speech_region", "eastus") or "eastus"
    settings = AzureTTSSettings(
        url=reader.endpoint(
            kind="http",
            default_host=f"{region}.tts.speech.microsoft.com",
            default_path=SYNTHESIS_PATH,
        ),
        api_key=reader.api_key(API_KEY_ENV),
        languages=reader.language_map(DEFAULTS, required="voice", fields=("language", "voice")),
        timeout=reader.number("timeout", 30.0, minimum=0.1),
    )
    return AzureTTS(settings)
