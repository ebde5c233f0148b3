"""The TTS seam: one shared `TTSEngine`, called concurrently by every call.

``synthesize`` yields raw mu-law 8 kHz chunks as soon as they exist. Cancellation is closing
the iterator (``aclose()``), which must stop the provider's work promptly. Failures raise
`telephonist.errors.ProviderError` with ``retryable`` set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

__all__ = ["TTSEngine", "VoiceSpec"]


@dataclass(frozen=True, slots=True)
class VoiceSpec:
    """Which voice to speak with. ``ssml`` is the message's raw SSML, for engines that take it."""

    language: str = "en"
    voice: str | None = None
    ssml: str | None = None


class TTSEngine(Protocol):
    """Text in, mu-law 8 kHz chunks out."""

    def synthesize(self, text: str, voice: VoiceSpec) -> AsyncIterator[bytes]: ...
