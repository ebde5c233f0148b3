"""The whole product offline: `telephonist init`'s starter assistant served by `build_runtime`
with the embedded engines (Silero VAD, Whisper tiny.en, hibari), called over real sockets with
real recorded speech."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypeVar, overload

import pytest
from tests.audio_samples import load_prompt, normalise, silence
from tests.fakes.events import of_kind

from telephonist.call.events import (
    AsrFinal,
    BotAudioSent,
    CallEnded,
    CallEvent,
    EventKind,
    TurnLatency,
    TurnTaken,
)
from telephonist.cli import main as cli_main
from telephonist.server.app import create_app
from telephonist.server.assembly import Paths, build_runtime, warm_up
from telephonist.server.runtime import Runtime
from telephonist.server.serve import bound_socket, uvicorn_server
from telephonist.simulator.caller import TwilioCaller

E = TypeVar("E", bound=CallEvent)

pytestmark = pytest.mark.slow

CREDENTIALS = """twilio_media_streams:
  server_url: "127.0.0.1:{port}"
  asr: {{name: local}}
  tts: {{name: local}}
  monitor_silence: true
"""


class Live:
    """A running offline server and the events it published."""

    def __init__(self, runtime: Runtime, port: int) -> None:
        self.runtime = runtime
        self.port = port
        self.events: list[CallEvent] = []
        self.changed = asyncio.Event()
        runtime.events.subscribe(self._record)

    def _record(self, event: CallEvent) -> None:
        self.events.append(event)
        self.changed.set()

    @overload
    def kinds(self, kind: EventKind) -> list[CallEvent]: ...
    @overload
    def kinds(self, kind: type[E]) -> list[E]: ...
    def kinds(self, kind: EventKind | type[E]) -> list[CallEvent] | list[E]:
        """Events of one kind (given as a class: typed as that class)."""
        return of_kind(self.events, kind)

    async def until(self, predicate, within: float = 60.0) -> None:
        """Wait until ``predicate()`` holds."""
        async with asyncio.timeout(within):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    def caller(self) -> TwilioCaller:
        """A Twilio caller for this server."""
        base = f"127.0.0.1:{self.port}"
        return TwilioCaller(
            f"http://{base}/webhooks/twilio_media_streams/webhook",
            stream_url_override=f"ws://{base}/webhooks/twilio_media_streams/websocket",
        )


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    """`telephonist init` a project, point it at a free port, and serve it."""
    project = tmp_path / "line"
    assert cli_main(["init", str(project)]) == 0
    sock = bound_socket()
    port = sock.getsockname()[1]
    (project / "credentials.yml").write_text(CREDENTIALS.format(port=port))
    runtime = build_runtime(Paths(project), environ={})
    await warm_up(runtime)
    server = uvicorn_server(create_app(runtime))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield Live(runtime, port)
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_starter_assistant_answers_a_call_offline(live: Live):
    """Greeting spoken by local TTS, real speech recognised locally, goodbye, hang-up."""
    caller = live.caller()
    await caller.dial()
    await caller.connect()
    await live.until(lambda: bool(live.kinds(EventKind.TURN)))
    greeting = live.kinds(TurnTaken)[0].messages
    assert any("Acme" in text for text in greeting)
    await live.until(lambda: len(live.kinds(EventKind.BOT_AUDIO_SENT)) == len(greeting))
    sent = sum(e.bytes for e in live.kinds(BotAudioSent))
    await caller.wait_until(lambda: len(caller.received_audio) >= sent)
    asr = live.runtime.asr
    heard = " ".join(normalise(asr.transcribe(bytes(caller.received_audio), "en").text))  # type: ignore[attr-defined]
    assert "thanks for calling" in heard and "press 1" in heard.replace("one", "1")
    await caller.play_all()

    goodbye = load_prompt("goodbye")
    # A lone "Goodbye" may sound unfinished to the end-of-turn model: silence long enough
    # for its longest wait (turn.max_wait_ms) ends the turn either way.
    await caller.send_audio(goodbye.mulaw + silence(2.5))
    await live.until(lambda: bool(live.kinds(EventKind.FINAL)))
    # Whisper writes "Goodbye" or "Good bye"; biased by the starter project's phrases ("bye
    # bye"), it writes it twice for some cuts of the same recording (seen on a loaded machine).
    heard_goodbye = "".join(normalise(live.kinds(AsrFinal)[0].text))
    said_once = "".join(normalise(goodbye.text))
    assert heard_goodbye in (said_once, said_once * 2), heard_goodbye
    await live.until(lambda: len(live.kinds(EventKind.TURN)) >= 2)
    reply = live.kinds(TurnTaken)[1]
    assert reply.hang_up and reply.state["latest_intent"]["name"] == "goodbye"
    await live.until(lambda: len(live.kinds(EventKind.BOT_AUDIO_SENT)) > len(greeting))
    await caller.play_all()
    await caller.wait_until(lambda: caller.closed_by_server, within=30)
    await live.until(lambda: bool(live.kinds(EventKind.CALL_ENDED)))
    assert [e.reason for e in live.kinds(CallEnded)] == ["bot hung up"]
    latency = live.kinds(TurnLatency)
    assert latency and latency[0].final_to_audio_ms < 2000
