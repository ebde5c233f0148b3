"""Graceful shutdown: the first signal stops new calls while calls in progress go on."""

from __future__ import annotations

import asyncio
import signal

import httpx
from tests.audio_samples import load_prompt, silence
from tests.fakes.scripted import ScriptedAssistant

from telephonist.call.events import CallEnded, EventKind

SPEECH = "agent-pass"


async def test_signal_drains_calls_then_stops(serve):
    """During the drain the webhook and /health answer 503, the call in progress still gets
    its answers, and the server stops by itself when that call ends."""
    async with (
        serve(transcripts=["hello"], drain_timeout=60) as served,
        httpx.AsyncClient() as http,
    ):
        caller = await served.connected_call()
        served.server.handle_exit(signal.SIGTERM, None)
        assert served.runtime.draining and not served.server.should_exit

        refused = await http.post(served.webhook, data={"CallSid": "CA-new"})
        assert refused.status_code == 503 and refused.headers["retry-after"] == "30"
        health = await http.get(f"{served.base_url}/health")
        assert health.status_code == 503
        assert health.json() == {"status": "draining", "active_calls": 1}

        await caller.play_all()
        await caller.send_audio(load_prompt(SPEECH).mulaw + silence(1.0))
        await served.wait_for_speech(caller, "You said hello")  # the call goes on
        assert not served.serving.done()

        await caller.hang_up()
        async with asyncio.timeout(10):
            await asyncio.shield(served.serving)  # stops once the last call is over
        assert [e.reason for e in served.kinds(CallEnded)] == ["caller hung up"]


async def test_drain_timeout_ends_calls_still_going(serve):
    """A call outlasting the drain timeout is ended with the server."""
    long_greeting = " ".join(f"word{i}" for i in range(30))
    async with serve(
        assistant=ScriptedAssistant(greeting=long_greeting), drain_timeout=0.3
    ) as served:
        caller = served.caller()
        await caller.dial()
        await caller.connect()
        await served.wait_event(EventKind.CALL_STARTED)
        served.server.handle_exit(signal.SIGTERM, None)
        async with asyncio.timeout(10):
            await asyncio.shield(served.serving)
        await caller.wait_until(lambda: caller.closed_by_server)
        await served.wait_event(EventKind.CALL_ENDED)


async def test_second_signal_or_no_calls_stop_at_once(serve):
    """Without calls there is nothing to drain; during a drain, a second signal does not wait
    (uvicorn's own handler then stops the server)."""
    async with serve(drain_timeout=60) as served:
        assert served.server.drain() is False and not served.runtime.draining
    async with serve(drain_timeout=60) as served:
        caller = await served.connected_call()
        assert served.server.drain() is True and served.runtime.draining
        assert served.server.drain() is False
        await caller.hang_up()


async def test_drain_waits_for_an_answered_call_whose_stream_is_on_its_way(serve):
    """A call answered just before the signal still gets its stream served."""
    async with serve(transcripts=["hello"], drain_timeout=60) as served:
        caller = served.caller()
        await caller.dial()  # TwiML with a stream token; the websocket is not open yet
        assert served.server.drain() is True
        await caller.connect()
        await served.wait_for_speech(caller, served.assistant.greeting)
        await caller.hang_up()
        async with asyncio.timeout(10):
            await asyncio.shield(served.serving)


async def test_without_drain_timeout_the_server_is_plain_uvicorn(serve):
    """--drain-timeout 0: the first signal stops the server, as before."""
    async with serve() as served:
        assert not hasattr(served.server, "drain")
