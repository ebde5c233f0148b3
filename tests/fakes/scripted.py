"""In-process scripted providers and assistant that satisfy the seams, for channel tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from telephonist.audio import mulaw
from telephonist.dialogue.turns import (
    AssistantTurn,
    BotMessage,
    SessionEnd,
    SessionResumed,
    SessionStart,
    Silence,
    UserEvent,
    UserText,
)
from telephonist.errors import ProviderError
from telephonist.speech.asr.base import ASRCapabilities, ASREvent, Final
from telephonist.speech.tts.base import VoiceSpec

E = TypeVar("E")

MS_PER_WORD = 200


class ScriptedASRStream:
    """Emits the next scripted transcript as a Final each time our VAD hears speech end."""

    def __init__(self, provider: ScriptedASR) -> None:
        self.provider = provider
        self.received = 0
        self.closed = False
        self.pauses: list[bool] = []
        self.vad: list[bool] = []
        self.sends: list[int] = []
        """The size of each ``send``, in order."""
        self.marks: list[tuple[str, int]] = []
        """Each edge or pause ("speech", "end", "pause", "resumed") with the audio received
        by then."""
        self._events: asyncio.Queue[ASREvent | None] = asyncio.Queue()

    async def send(self, audio: bytes) -> None:
        """Count audio (a real engine would recognise it)."""
        self.received += len(audio)
        self.sends.append(len(audio))
        self.provider.changed.set()

    async def on_vad(self, speaking: bool) -> None:
        """End of speech: the next transcript is final."""
        self.vad.append(speaking)
        self.marks.append(("speech" if speaking else "end", self.received))
        if not speaking and self.provider.transcripts:
            said = self.provider.transcripts.pop(0)
            self._events.put_nowait(Final(said, 0.9) if isinstance(said, str) else said)

    async def on_pause(self, paused: bool) -> None:
        """Recorded (called only when the provider's capabilities declare ``pause_ms``)."""
        self.pauses.append(paused)
        self.marks.append(("pause" if paused else "resumed", self.received))

    async def events(self) -> AsyncIterator[ASREvent]:
        """Scripted events until closed."""
        while (event := await self._events.get()) is not None:
            yield event

    def inject(self, event: ASREvent) -> None:
        """Push an event as if the provider sent it."""
        self._events.put_nowait(event)

    async def close(self) -> None:
        """Stop the event stream."""
        self.closed = True
        self._events.put_nowait(None)
        self.provider.changed.set()


@dataclass
class ScriptedASR:
    """Provider of scripted streams; ``transcripts`` are consumed in order across calls (a
    text is a `Final` of confidence 0.9)."""

    transcripts: list[str | Final] = field(default_factory=list)
    streams: list[ScriptedASRStream] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    capabilities: ASRCapabilities = field(default_factory=ASRCapabilities)
    lifecycle: list[str] = field(default_factory=list)
    """"warm_up" and "aclose", as they were called."""

    async def warm_up(self) -> None:
        """Record the call."""
        self.lifecycle.append("warm_up")

    async def aclose(self) -> None:
        """Record the call."""
        self.lifecycle.append("aclose")

    async def open_stream(self, language: str) -> ScriptedASRStream:
        """A new stream (recorded in ``streams``)."""
        stream = ScriptedASRStream(self)
        self.streams.append(stream)
        self.changed.set()
        return stream

    async def wait_for(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        """Wait until ``predicate()`` holds, re-checked whenever a stream opens, hears audio
        or closes."""
        async with asyncio.timeout(within):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()


def tone_audio(words: int) -> bytes:
    """Non-silent mu-law audio, ``MS_PER_WORD`` ms per word (an odd length on purpose)."""
    samples = int(words * MS_PER_WORD * 8) + 3
    t = np.arange(samples) / 8000
    return mulaw.encode((np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16))


def spoken_length(text: str) -> int:
    """Bytes the server sends for ``text`` with `ScriptedTTS`: the tone padded to 20 ms frames."""
    n = len(tone_audio(len(text.split())))
    return n + (-n % 160)


@dataclass
class ScriptedTTS:
    """Speaks a 440 Hz tone, 200 ms per word, in 100 ms chunks; records every request."""

    chunk_bytes: int = 800
    fail_texts: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)
    closed_early: list[str] = field(default_factory=list)
    lifecycle: list[str] = field(default_factory=list)
    """"warm_up" and "aclose", as they were called."""

    async def warm_up(self) -> None:
        """Record the call."""
        self.lifecycle.append("warm_up")

    async def aclose(self) -> None:
        """Record the call."""
        self.lifecycle.append("aclose")

    async def synthesize(self, text: str, voice: VoiceSpec) -> AsyncGenerator[bytes, None]:
        """Yield the tone for ``text`` in chunks."""
        self.requests.append(text)
        if text in self.fail_texts:
            raise ProviderError("scripted", "voice unavailable", retryable=False)
        audio = tone_audio(len(text.split()))
        finished = False
        try:
            for offset in range(0, len(audio), self.chunk_bytes):
                yield audio[offset : offset + self.chunk_bytes]
                await asyncio.sleep(0)
            finished = True
        finally:
            if not finished:
                self.closed_early.append(text)


Responder = Callable[[UserEvent], AssistantTurn | None]


@dataclass
class ScriptedAssistant:
    """Greets, echoes what it hears, says goodbye and hangs up on "goodbye", apologises on a
    resumed call; records events.

    ``respond`` may override the answer to any event (return None to fall back).
    """

    greeting: str = "Hello, this is the test line. How can I help?"
    resumed: str = "Sorry, the line dropped. Where were we?"
    respond: Responder | None = None
    events: list[tuple[str, UserEvent]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, conversation_id: str, event: UserEvent) -> AssistantTurn:
        """Record the event and answer it."""
        self.events.append((conversation_id, event))
        self.changed.set()
        if self.respond is not None and (turn := self.respond(event)) is not None:
            return turn
        if isinstance(event, SessionStart):
            return AssistantTurn(messages=(BotMessage(self.greeting),))
        if isinstance(event, SessionResumed):
            return AssistantTurn(messages=(BotMessage(self.resumed),))
        if isinstance(event, UserText):
            if "goodbye" in event.text.lower():
                return AssistantTurn(messages=(BotMessage("Goodbye!"),), hang_up=True)
            return AssistantTurn(messages=(BotMessage(f"You said {event.text}"),))
        if isinstance(event, Silence):
            return AssistantTurn(messages=(BotMessage(f"Silence number {event.consecutive}"),))
        if isinstance(event, SessionEnd):
            return AssistantTurn()
        return AssistantTurn()

    async def close(self) -> None:
        """Nothing to release."""

    def of_type(self, kind: type[E]) -> list[E]:
        """Events received of one type."""
        return [event for _, event in self.events if isinstance(event, kind)]

    async def wait_for(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        """Wait until ``predicate()`` holds, re-checked after each event."""
        async with asyncio.timeout(within):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()
