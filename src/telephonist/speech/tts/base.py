"""The TTS seam: one shared `TTSEngine`, called concurrently by every call.

``synthesize`` is an async generator of raw mu-law 8 kHz chunks, each yielded as soon as it
exists. Cancellation is ``aclose()``, which must stop the provider's work promptly. Failures raise
`telephonist.errors.ProviderError` with ``retryable`` set.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
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
    """Text in, mu-law 8 kHz chunks out.

    The lifecycle is part of the seam, so a wrapper (the cache, the fallback chain) cannot
    drop it: ``warm_up`` runs once at start-up, ``aclose`` once at shutdown.
    """

    def synthesize(self, text: str, voice: VoiceSpec) -> AsyncGenerator[bytes, None]:
        """The audio of ``text``, each chunk as soon as it exists."""

    async def warm_up(self) -> None:
        """Get ready for the first message (load the voice, open the socket). A
        `ProviderError` here is logged and start-up goes on: the first message retries."""

    async def aclose(self) -> None:
        """Release connections and clients (at shutdown)."""
