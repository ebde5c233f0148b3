"""The ASR seam: one `ASRStream` per call, opened by a shared `ASRProvider`.

Audio in is always raw mu-law at 8 kHz (Twilio's format), any length. Events out are the four
dataclasses below. A stream never raises out of ``events()`` for a provider failure: it yields
`ASRError` (with ``retryable``) so the call can decide what to do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = [
    "ASRCapabilities",
    "ASRError",
    "ASREvent",
    "ASRProvider",
    "ASRStream",
    "Final",
    "Partial",
    "ReadsBackchannels",
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
    backchannel_reading: str | None = None
    """The same audio read again expecting backchannels, when the stream was told to
    (`ReadsBackchannels`) and the words were few: a hum first written as words ("Bim,
    bim.") may read as "Mm-hmm." here. The call decides which reading it believes."""
    sentence_end: float | None = None
    """How likely the recogniser thought it that a sentence ends where ``text`` ends (0-1;
    None: it does not say). Low for words cut off by a pause the caller means to go on
    from, whatever punctuation it wrote (`telephonist.turn.unfinished`)."""


@dataclass(frozen=True, slots=True)
class ASRError:
    """The provider failed; ``retryable`` tells whether a reconnect may help."""

    message: str
    retryable: bool


ASREvent = SpeechStarted | Partial | Final | ASRError


class ASRStream(Protocol):
    """Recognition for one call. How the call feeds it depends on the provider's
    `ASRCapabilities`."""

    async def send(self, audio: bytes) -> None:
        """Feed mu-law 8 kHz audio (any length). Called from the call's media reader for
        every frame as it arrives, so it must return promptly: buffer, never wait on the
        network beyond the transport's own flow control."""

    async def on_vad(self, speaking: bool) -> None:
        """Hint from our VAD: speech began (True) or ended (False).

        Cloud engines may use the end to flush (Deepgram ``Finalize``); VAD-segmented local
        engines use both edges to cut the utterance they transcribe.
        """

    async def on_pause(self, paused: bool) -> None:
        """A pause within speech lasted ``pause_ms`` (True), or speech resumed after one
        (False). Called only when the provider's capabilities set ``pause_ms``."""

    def events(self) -> AsyncIterator[ASREvent]:
        """The stream's events, until it is closed."""

    async def close(self) -> None:
        """Release the connection; ``events()`` then ends."""


@runtime_checkable
class ReadsBackchannels(Protocol):
    """A stream that can read sound over the bot once more, expecting backchannels (the
    local engine: Whisper, biased by a prompt of them, writes a hum as "Mm-hmm." rather than
    as words). Optional: the call asks only streams that have it."""

    def expect_backchannels(self, phrases: Sequence[str] | None) -> None:
        """The utterance that starts next is sound over the bot (None: it is not): if its
        words are few, read it again expecting ``phrases``, in `Final.backchannel_reading`."""


@dataclass(frozen=True, slots=True)
class ASRCapabilities:
    """What a provider declares about its streams, so the call never has to probe them."""

    cuts_at_vad_edges: bool = False
    """Utterances are cut at our VAD's edges instead of the engine finding the end of speech
    itself: each frame then reaches the stream just before the VAD's verdict on it, instead of
    on arrival (see `telephonist.call.recognition`). Such an engine answers every utterance
    with one `Final`, empty when it heard no words: a barge-in on hold waits for it."""
    pause_ms: float | None = None
    """Tell the stream (``on_pause``) once a pause within speech lasts this long (the local
    engine starts transcribing then, before the end of speech is certain); None: never."""
    punctuates: bool = False
    """Every whole sentence in a `Final` ends with ``.``, ``?`` or ``!``: one without was cut
    off (a cue the end-of-turn judge uses, `telephonist.turn.unfinished`)."""


class ASRProvider(Protocol):
    """Shared across calls; opens one stream per call.

    The lifecycle is part of the seam, so a wrapper cannot drop it: ``warm_up`` runs once at
    start-up (load a model, open a connection), ``aclose`` once at shutdown.
    """

    @property
    def capabilities(self) -> ASRCapabilities:
        """How the call must feed this provider's streams."""

    async def warm_up(self) -> None:
        """Get ready for the first call; a cloud provider that connects per call does
        nothing. A `ProviderError` here is logged and start-up goes on."""

    async def open_stream(self, language: str) -> ASRStream:
        """A connected stream for one call (raises `ProviderError`)."""

    async def aclose(self) -> None:
        """Release what the provider holds for every call (at shutdown)."""
