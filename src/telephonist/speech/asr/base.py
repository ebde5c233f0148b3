"""The ASR seam: one `ASRStream` per call, opened by a shared `ASRProvider`.

Audio in is always raw mu-law at 8 kHz (Twilio's format), any length. Events out are the four
dataclasses below. A stream never raises out of ``events()`` for a provider failure: it yields
`ASRError` (with ``retryable``) so the call can decide what to do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "ASRError",
    "ASREvent",
    "ASRProvider",
    "ASRStream",
    "Final",
    "Partial",
    "SpeechStarted",
]


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """The provider heard speech begin (e.g. Deepgram ``SpeechStarted``)."""


@dataclass(frozen=True, slots=True)
class Partial:
    """Interim text for the utterance in progress; never a turn by itself."""

    text: str


@dataclass(frozen=True, slots=True)
class Final:
    """The caller's complete utterance: this ends a turn."""

    text: str
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class ASRError:
    """The provider failed; ``retryable`` tells whether a reconnect may help."""

    message: str
    retryable: bool


ASREvent = SpeechStarted | Partial | Final | ASRError


class ASRStream(Protocol):
    """Recognition for one call."""

    async def send(self, audio: bytes) -> None:
        """Feed mu-law 8 kHz audio (any length)."""

    async def on_vad(self, speaking: bool) -> None:
        """Hint from our VAD: speech began (True) or ended (False).

        Cloud engines may use the end to flush (Deepgram ``Finalize``); VAD-segmented local
        engines use both edges to cut the utterance they transcribe.
        """

    def events(self) -> AsyncIterator[ASREvent]:
        """The stream's events, until it is closed."""

    async def close(self) -> None:
        """Release the connection; ``events()`` then ends."""


class ASRProvider(Protocol):
    """Shared across calls; opens one stream per call."""

    async def open_stream(self, language: str) -> ASRStream: ...
