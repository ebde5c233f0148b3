"""A `CallSession` on an in-memory transport, with scripted providers, the energy VAD scored
inline and a virtual clock: session tests that need neither sockets nor recorded speech."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

import numpy as np
from tests.fakes.clock import VirtualClock
from tests.fakes.events import of_kind
from tests.fakes.scripted import ScriptedASR, ScriptedAssistant, ScriptedTTS

from telephonist.audio import mulaw
from telephonist.audio.formats import FRAME_BYTES
from telephonist.call.events import CallEvent, EventBus, EventKind
from telephonist.call.session import CallSession
from telephonist.call.settings import CallSettings
from telephonist.call.state import CallState
from telephonist.speech.asr.base import ASRProvider
from telephonist.speech.vad.energy import EnergyVAD
from telephonist.turn.scorer import TurnScorer
from telephonist.twilio.stream import MediaStream

E = TypeVar("E", bound=CallEvent)

START = json.dumps(
    {
        "event": "start",
        "streamSid": "MZ1",
        "start": {
            "streamSid": "MZ1",
            "callSid": "CA1",
            "accountSid": "AC1",
            "customParameters": {},
        },
    }
)

SPEECH_FRAME = mulaw.encode(
    (np.sin(2 * np.pi * 440 * np.arange(FRAME_BYTES) / 8000) * 8000).astype(np.int16)
)
"""20 ms the energy VAD scores as speech (about -15 dBFS)."""
QUIET_FRAME = b"\xff" * FRAME_BYTES
"""20 ms of digital silence."""


@dataclass
class MemoryTransport:
    """Collects what the session sends."""

    frames: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False

    async def send(self, text: str) -> None:
        self.frames.append(json.loads(text))

    async def close(self) -> None:
        self.closed = True

    def kinds(self) -> list[str]:
        return [f["event"] for f in self.frames]


@dataclass
class RecordingControl:
    """A CallControl that records what it was asked."""

    calls: list[tuple[str, ...]] = field(default_factory=list)

    async def hang_up(self, call_sid: str) -> None:
        self.calls.append(("hang_up", call_sid))

    async def transfer(self, call_sid: str, number: str) -> None:
        self.calls.append(("transfer", call_sid, number))


@dataclass
class Call:
    """One session and everything around it."""

    session: CallSession
    transport: MemoryTransport
    events: list[CallEvent]
    clock: VirtualClock
    assistant: ScriptedAssistant
    tts: ScriptedTTS
    echoed: int = 0
    published: asyncio.Event = field(default_factory=asyncio.Event)
    """Set whenever the session publishes an event."""

    async def published_until(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        """Wait, in real time (for sessions whose providers use sockets), until
        ``predicate()`` holds, re-checked at each event the session publishes."""
        async with asyncio.timeout(within):
            while not predicate():
                self.published.clear()
                await self.published.wait()

    @overload
    def of_kind(self, kind: EventKind) -> list[CallEvent]: ...
    @overload
    def of_kind(self, kind: type[E]) -> list[E]: ...
    def of_kind(self, kind: EventKind | type[E]) -> list[CallEvent] | list[E]:
        """Call events of one kind, in order (given as a class: typed as that class)."""
        return of_kind(self.events, kind)

    async def speak(self, ms: int) -> None:
        """The caller speaks for ``ms`` (whole 20 ms frames)."""
        for _ in range(ms // 20):
            await self.session.audio(SPEECH_FRAME)

    async def pause(self, ms: int) -> None:
        """The caller is quiet for ``ms``."""
        for _ in range(ms // 20):
            await self.session.audio(QUIET_FRAME)

    async def utter(self) -> None:
        """The caller says something: 400 ms of speech, then the VAD's 500 ms end pause."""
        await self.speak(400)
        await self.pause(500)

    async def heard_reply(self) -> None:
        """Wait until the bot's reply is sent, then Twilio echoes all its marks."""
        await self.until(lambda: self.session.state is CallState.PLAYING)
        await self.hear()

    async def hear(self, marks: int | None = None) -> None:
        """Twilio echoes the next ``marks`` marks sent (all of them by default)."""
        names = [f["mark"]["name"] for f in self.transport.frames if f["event"] == "mark"]
        upto = len(names) if marks is None else self.echoed + marks
        for name in names[self.echoed : upto]:
            await self.session.mark(name)
        self.echoed = max(self.echoed, min(upto, len(names)))

    async def until(self, predicate: Callable[[], bool]) -> None:
        """Let the loop run (no virtual time passes) until ``predicate()`` holds."""
        await wait_for(predicate)


def make_call(
    *,
    assistant: ScriptedAssistant | None = None,
    asr: ASRProvider | None = None,
    tts: ScriptedTTS | None = None,
    control: RecordingControl | None = None,
    settings: CallSettings | None = None,
    turn_scorer: TurnScorer | None = None,
) -> Call:
    """A session on a started stream with scripted collaborators (not opened yet); the turn
    ends on silence alone unless a ``turn_scorer`` judges it."""
    stream = MediaStream()
    stream.receive(START)
    transport = MemoryTransport()
    events: list[CallEvent] = []
    bus = EventBus()
    bus.subscribe(events.append)
    clock = VirtualClock()
    assistant = assistant or ScriptedAssistant()
    tts = tts or ScriptedTTS()
    session = CallSession(
        stream=stream,
        transport=transport,
        assistant=assistant,
        asr=asr or ScriptedASR(),
        tts=tts,
        vad=EnergyVAD(),
        settings=settings or CallSettings(),
        clock=clock,
        events=bus,
        call_control=control,
        turn_scorer=turn_scorer,
    )
    call = Call(session, transport, events, clock, assistant, tts)
    bus.subscribe(lambda _: call.published.set())
    return call


def make_session(
    assistant: ScriptedAssistant | None = None,
    asr: ASRProvider | None = None,
    tts: ScriptedTTS | None = None,
    control: RecordingControl | None = None,
) -> tuple[CallSession, MemoryTransport, list[CallEvent]]:
    """A session, its transport and its events."""
    call = make_call(assistant=assistant, asr=asr, tts=tts, control=control)
    return call.session, call.transport, call.events


async def wait_for(predicate: Callable[[], bool], steps: int = 2000) -> None:
    """Let the loop run until ``predicate()`` holds."""
    for _ in range(steps):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def play_until(
    session: CallSession,
    transport: MemoryTransport,
    predicate: Callable[[], bool],
    steps: int = 2000,
) -> None:
    """Echo every mark the session sends (as if played at once) until ``predicate()``."""
    echoed = 0
    for _ in range(steps):
        if predicate():
            return
        marks = [f["mark"]["name"] for f in transport.frames if f["event"] == "mark"]
        for name in marks[echoed:]:
            await session.mark(name)
        echoed = len(marks)
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")
