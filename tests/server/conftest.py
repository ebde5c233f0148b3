"""A real uvicorn server on a free port with scripted providers, and a Twilio caller for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

import pytest
from tests.fakes.clock import VirtualClock
from tests.fakes.events import of_kind
from tests.fakes.scripted import ScriptedASR, ScriptedAssistant, ScriptedTTS, spoken_length

from telephonist.call.events import CallEvent, EventKind
from telephonist.call.settings import CallSettings
from telephonist.config.channel import parse_channel
from telephonist.server.app import create_app
from telephonist.server.runtime import Runtime
from telephonist.server.serve import bound_socket, uvicorn_server
from telephonist.simulator.caller import TwilioCaller
from telephonist.speech.vad.silero import SileroVAD

E = TypeVar("E", bound=CallEvent)


@pytest.fixture(scope="session")
def silero() -> SileroVAD:
    """One Silero VAD model for the whole test session."""
    return SileroVAD()


@dataclass
class Served:
    """A running server and its scripted collaborators."""

    base_url: str
    runtime: Runtime
    assistant: ScriptedAssistant
    asr: ScriptedASR
    tts: ScriptedTTS
    clock: VirtualClock
    events: list[CallEvent] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    server: Any = None
    """The uvicorn server (a `DrainingServer` when the fixture got a ``drain_timeout``)."""
    serving: asyncio.Task[None] | None = None
    """Done when the server has stopped."""

    def record(self, event: CallEvent) -> None:
        """Event-bus subscriber: keep every call event."""
        self.events.append(event)
        self.changed.set()

    async def wait_event(self, kind: EventKind, count: int = 1, within: float = 10.0) -> None:
        """Wait until ``count`` events of ``kind`` have been published."""
        async with asyncio.timeout(within):
            while len(self.kinds(kind)) < count:
                self.changed.clear()
                await self.changed.wait()

    @property
    def webhook(self) -> str:
        """The voice webhook URL."""
        return f"{self.base_url}/webhooks/twilio_media_streams/webhook"

    def caller(self, **kwargs: Any) -> TwilioCaller:
        """A Twilio caller for this server, connecting over plain ws."""
        ws_url = (
            self.base_url.replace("http://", "ws://") + "/webhooks/twilio_media_streams/websocket"
        )
        kwargs.setdefault("stream_url_override", ws_url)
        return TwilioCaller(kwargs.pop("webhook_url", self.webhook), **kwargs)

    @overload
    def kinds(self, kind: EventKind) -> list[CallEvent]: ...
    @overload
    def kinds(self, kind: type[E]) -> list[E]: ...
    def kinds(self, kind: EventKind | type[E]) -> list[CallEvent] | list[E]:
        """Call events of one kind (given as a class: typed as that class)."""
        return of_kind(self.events, kind)

    async def connected_call(self, **kwargs: Any) -> TwilioCaller:
        """Dial, connect, and wait until the whole greeting has arrived."""
        caller = self.caller(**kwargs)
        await caller.dial()
        await caller.connect()
        await self.wait_for_speech(caller, self.assistant.greeting)
        return caller

    async def wait_for_speech(self, caller: TwilioCaller, text: str) -> bytes:
        """Wait until the audio for ``text`` (after what already arrived) and its final mark
        are in; returns that audio."""
        before = len(caller.received_audio)
        marks = len(caller.events("mark"))
        expected = spoken_length(text)
        finals = 1 + expected // 4000  # intermediate marks every 500 ms, then the final one
        await caller.wait_until(
            lambda: (
                len(caller.received_audio) >= before + expected
                and len(caller.events("mark")) >= marks + finals
            )
        )
        return bytes(caller.received_audio[before : before + expected])


ServeFactory = Callable[..., Any]


@pytest.fixture
def serve(silero: SileroVAD) -> ServeFactory:
    """``async with serve(**channel_keys) as served`` runs a server with scripted parts."""

    @asynccontextmanager
    async def run(
        *,
        assistant: ScriptedAssistant | None = None,
        transcripts: list[str] | None = None,
        call_control: Any = None,
        inspect: bool = False,
        interface: str = "127.0.0.1",
        clock: Any = None,
        drain_timeout: float = 0.0,
        claim: Any = None,
        ledger: Any = None,
        turn_scorer: Any = None,
        **channel: Any,
    ) -> AsyncIterator[Served]:
        sock = bound_socket()
        port = sock.getsockname()[1]
        block = {
            "server_url": f"127.0.0.1:{port}",
            "asr": {"name": "scripted"},
            "tts": {"name": "scripted"},
            **channel,
        }
        config = parse_channel(block, file="credentials.yml", environ={})
        clock = clock or VirtualClock()
        served = Served(
            f"http://127.0.0.1:{port}",
            None,  # type: ignore[arg-type]  # set below, once the Runtime exists
            assistant or ScriptedAssistant(),
            ScriptedASR(list(transcripts or [])),
            ScriptedTTS(),
            clock,
        )
        served.runtime = Runtime(
            channel=config,
            settings=CallSettings.from_channel(config, "en"),
            assistant=served.assistant,
            asr=served.asr,
            tts=served.tts,
            vad=silero,
            clock=clock,
            call_control=call_control,
            claim=claim,
            ledger=ledger,
            turn_scorer=turn_scorer,
        )
        served.runtime.events.subscribe(served.record)
        server = uvicorn_server(
            create_app(served.runtime, inspect=inspect, interface=interface),
            runtime=served.runtime,
            drain_timeout=drain_timeout,
        )
        task = asyncio.create_task(server.serve(sockets=[sock]))
        served.server, served.serving = server, task
        try:
            yield served
        finally:
            server.should_exit = True
            await task
            sock.close()

    return run
