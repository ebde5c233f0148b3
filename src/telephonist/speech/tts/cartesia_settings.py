"""Cartesia request settings shared by the websocket and ``/tts/bytes`` transports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telephonist.errors import ProviderError
from telephonist.speech.provider_config import LanguageMap
from telephonist.speech.tts.base import VoiceSpec

__all__ = ["DEFAULTS", "LAST_X_API_KEY_VERSION", "OUTPUT_FORMAT", "CartesiaSettings"]

DEFAULTS = {"language": "en", "voice": "f786b574-daa5-4673-aa0c-cbe3e8534c02"}
LAST_X_API_KEY_VERSION = "2024-11-13"
OUTPUT_FORMAT = {"container": "raw", "encoding": "pcm_mulaw", "sample_rate": 8000}


@dataclass(frozen=True)
class CartesiaSettings:
    """A validated ``tts:`` block. ``api_key`` never appears in the repr."""

    url: str
    api_key: str = field(repr=False)
    model_id: str = "sonic-3"
    version: str = "2026-03-01"
    languages: LanguageMap = field(default_factory=lambda: LanguageMap(DEFAULTS))
    timeout: float = 30.0
    connect_timeout: float = 10.0

    def headers(self) -> dict[str, str]:
        """Handshake headers: version and auth."""
        headers = {"Cartesia-Version": self.version, "Authorization": f"Bearer {self.api_key}"}
        if self.version <= LAST_X_API_KEY_VERSION:
            headers["X-API-Key"] = self.api_key
        return headers

    def request(self, text: str, voice: VoiceSpec, context_id: str) -> dict[str, Any]:
        """The generation request for one whole message."""
        entry = self.languages.lookup(voice.language)
        if entry is None:
            raise ProviderError(
                "cartesia", f"language {voice.language!r} is not in language_map", retryable=False
            )
        return {
            "model_id": self.model_id,
            "transcript": text,
            "voice": {"mode": "id", "id": voice.voice or entry["voice"]},
            "language": entry["language"],
            "context_id": context_id,
            "continue": False,
            "output_format": dict(OUTPUT_FORMAT),
            "add_timestamps": False,
        }
