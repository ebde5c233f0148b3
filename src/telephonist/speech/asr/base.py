"""The ASR seam: one `ASRStream` per call, opened by a shared `ASRProvider`.

Audio in is always raw mu-law at 8 kHz (Twilio's format), any length. Events out are the four
dataclasses below. A stream never raises out of ``events()`` for a provider failure: it yields
`ASRError` (with ``retryable``) so the call can decide what to do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = [
    "ASRError",
    "ASREvent",
    "ASRProvider",
    "ASRStream",
    "Final",
    "Partial",
    "PauseAwareStream",
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
    """Recognition for one call.

    A stream that cuts utterances at our VAD's edges instead of finding the end of speech
    itself sets a true ``cuts_at_vad_edges`` attribute: it then gets each frame just before
    the VAD's verdict on it, instead of on arrival.
    """

    async def send(self, audio: bytes) -> None:
        """Feed mu-law 8 kHz audio (any length). Called from the call's media reader for
        every frame as it arrives, so it must return promptly: buffer, never wait on the
        network beyond the transport's own flow control."""

    async def on_vad(self, speaking: bool) -> None:
        """Hint from our VAD: speech began (True) or ended (False).

        Cloud engines may use the end to flush (Deepgram ``Finalize``); VAD-segmented local
        engines use both edges to cut the utterance they transcribe.
        """

    def events(self) -> AsyncIterator[ASREvent]:
        """The stream's events, until it is closed."""

    async def close(self) -> None:
        """Release the connection; ``events()`` then ends."""


@runtime_checkable
class PauseAwareStream(Protocol):
    """An `ASRStream` that wants to hear of pauses within speech (the local engine starts
    transcribing on one, before the end of speech is certain)."""

    pause_ms: float | None
    """How long a pause must last before ``on_pause(True)``; None: never tell."""

    async def on_pause(self, paused: bool) -> None:
        """A pause of ``pause_ms`` began (True), or speech resumed after one (False)."""


class ASRProvider(Protocol):
    """Shared across calls; opens one stream per call."""

    async def open_stream(self, language: str) -> ASRStream: ...
