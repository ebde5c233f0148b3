"""A call whose stream is lost resumes on a new stream, on this instance or another sharing
the secret and the ledger; every stream the server ends on purpose gets <Hangup/> instead."""

from __future__ import annotations

import logging
import signal
from typing import Any

import httpx
from tests.audio_samples import load_prompt, silence
from tests.server.test_security import TOKEN, SharedClaims
from twilio.request_validator import RequestValidator

from telephonist.call.events import CallStarted
from telephonist.dialogue.turns import SessionEnd, SessionResumed, SessionStart
from telephonist.simulator.caller import TwilioCaller
from telephonist.stores.memory import MemoryLedger
from telephonist.twilio.token import claim_key

SECRET = "r" * 40
PUBLIC = "bot.example.com"
WEBHOOK_PATH = "/webhooks/twilio_media_streams/webhook"


def shared(**channel: Any) -> dict[str, Any]:
    """Channel keys of instances behind one public host, sharing secret and ledger."""
    return {"stream_token_secret": SECRET, "server_url": PUBLIC, **channel}


async def greeted_on(served, *, redirect_to) -> TwilioCaller:
    """A call answered by ``served`` whose redirect goes to ``redirect_to``, greeted."""
    caller = served.caller(redirect_url=redirect_to.base_url)
    await caller.dial()
    await caller.connect()
    await served.wait_for_speech(caller, served.assistant.greeting)
    return caller


async def resumed_on(served, caller) -> None:
    """Wait until ``served`` has resumed the call and the caller has heard it say so."""
    await served.assistant.wait_for(lambda: bool(served.assistant.of_type(SessionResumed)))
    await served.wait_for_speech(caller, served.assistant.resumed)


async def test_a_lost_stream_resumes_on_another_instance(serve):
    """Instance A loses the stream; Twilio's signed redirect, sent to B by the load balancer,
    gets a new stream there: B resumes (no greeting), A only let the stream go."""
    ledger = MemoryLedger()
    async with (
        serve(ledger=ledger, twilio_auth_token=TOKEN, **shared()) as first,
        serve(ledger=ledger, twilio_auth_token=TOKEN, **shared()) as second,
    ):
        caller = first.caller(
            auth_token=TOKEN,
            public_url=f"https://{PUBLIC}{WEBHOOK_PATH}",
            stream_url_override=None,
            redirect_url=second.base_url,
        )
        twiml = await caller.dial()
        assert "<Redirect" in twiml.xml and "resume=0." in twiml.xml
        await caller.connect()
        await first.wait_for_speech(caller, first.assistant.greeting)

        caller.drop_stream()
        await resumed_on(second, caller)
        assert [type(e) for _, e in second.assistant.events] == [SessionResumed]
        assert second.assistant.of_type(SessionResumed)[0].stream == 1
        await first.assistant.wait_for(lambda: bool(first.assistant.of_type(SessionEnd)))
        assert first.assistant.of_type(SessionEnd) == [SessionEnd("stream closed", True)]
        assert len(caller.legs) == 2 and caller.streaming
        assert len(caller.resume_gaps_ms()) == 1

        await caller.hang_up()
        await second.assistant.wait_for(lambda: bool(second.assistant.of_type(SessionEnd)))
        assert second.assistant.of_type(SessionEnd) == [SessionEnd("caller hung up", stream=1)]


async def test_a_draining_or_full_instance_still_takes_a_resume(serve):
    """The redirect of a call in progress is not a new call: an instance that is draining,
    or at limits.max_calls, turns new calls away (503) but resumes this one."""
    ledger = MemoryLedger()
    for state in ("draining", "full"):
        limits = {"max_calls": 1} if state == "full" else {}
        async with (
            serve(ledger=ledger, twilio_auth_token=TOKEN, **shared()) as first,
            serve(ledger=ledger, twilio_auth_token=TOKEN, limits=limits, **shared()) as second,
        ):
            signed = {
                "auth_token": TOKEN,
                "public_url": f"https://{PUBLIC}{WEBHOOK_PATH}",
                "stream_url_override": None,
            }
            if state == "draining":
                second.runtime.draining = True
            else:
                other = await second.connected_call(**signed)  # the one call it may take
            async with httpx.AsyncClient() as http:
                fresh = await http.post(second.webhook, data={"CallSid": "CA9"})
            assert fresh.status_code == 503, state
            caller = first.caller(**signed, redirect_url=second.base_url)
            await caller.dial()
            await caller.connect()
            await first.wait_for_speech(caller, first.assistant.greeting)
            caller.drop_stream()
            await resumed_on(second, caller)
            assert caller.streaming and len(caller.legs) == 2, state
            await caller.hang_up()
            if state == "full":
                await other.hang_up()


async def test_the_call_goes_on_after_the_resume(serve):
    """On the resumed stream the caller is heard and answered as before."""
    async with serve(transcripts=["hello again"], **shared()) as served:
        caller = await served.connected_call()
        caller.drop_stream()
        await resumed_on(served, caller)
        assert len(served.assistant.of_type(SessionStart)) == 1
        await caller.play_all()
        await caller.send_audio(load_prompt("agent-pass").mulaw + silence(1.0))
        await served.wait_for_speech(caller, "You said hello again")
        started = served.kinds(CallStarted)
        assert [e.stream for e in started] == [None, 1]
        await caller.hang_up()


async def test_a_bot_hang_up_is_not_resumed(serve, caplog):
    """The bot hangs up by closing the stream (no REST credentials): Twilio follows the
    redirect, which is answered <Hangup/>, and the call ends there."""
    caplog.set_level(logging.INFO, logger="telephonist")
    async with serve(transcripts=["goodbye"], **shared()) as served:
        caller = await served.connected_call()
        await caller.play_all()
        await caller.send_audio(load_prompt("agent-pass").mulaw + silence(1.0))
        await served.wait_for_speech(caller, "Goodbye!")
        await caller.play_all()
        await caller.wait_until(lambda: caller.closed_by_server)
        assert caller.ended_by == "<Hangup/>" and len(caller.legs) == 1
        assert "the server ended the stream on purpose (bot hung up)" in caplog.text
        assert not served.assistant.of_type(SessionResumed)


async def test_a_refused_stream_is_not_resumed(serve, caplog):
    """A start with a bad token is refused; its redirect finds no started stream."""
    async with serve(**shared()) as served:
        caller = served.caller()
        twiml = await caller.dial()
        await caller.connect(parameters={**twiml.parameters, "stream_token": "1.2.3"})
        await caller.wait_until(lambda: caller.closed_by_server)
        assert caller.close_code == 1008 and caller.ended_by == "<Hangup/>"
        assert "the stream never started" in caplog.text
        assert not served.assistant.events


async def test_resumes_are_capped_per_call(serve):
    """With max_per_call 1 the resumed stream's TwiML has no redirect: losing it ends the
    call, and the assistant hears the end for good."""
    async with serve(**shared(resume={"max_per_call": 1})) as served:
        caller = await served.connected_call()
        caller.drop_stream()
        await resumed_on(served, caller)
        assert "<Redirect" not in (caller.twiml.xml if caller.twiml else "<Redirect")
        caller.drop_stream()
        await caller.wait_until(lambda: caller.closed_by_server)
        assert caller.ended_by == "end of TwiML" and len(caller.legs) == 2
        await served.assistant.wait_for(lambda: len(served.assistant.of_type(SessionEnd)) == 2)
        assert served.assistant.of_type(SessionEnd) == [
            SessionEnd("stream closed", True),
            SessionEnd("stream closed", False, stream=1),
        ]


async def test_a_replayed_or_forged_redirect_is_hung_up(serve, caplog):
    """The redirect that resumed a call, posted again, resumes nothing; nor does a marker
    that is not ours, or one for another call."""
    async with serve(twilio_auth_token=TOKEN, **shared()) as served:
        public = f"https://{PUBLIC}{WEBHOOK_PATH}"
        caller = served.caller(auth_token=TOKEN, public_url=public, stream_url_override=None)
        twiml = await caller.dial()
        marker = twiml.xml.split("resume=", 1)[1].split("<", 1)[0]
        await caller.connect()
        await served.wait_for_speech(caller, served.assistant.greeting)
        caller.drop_stream()
        await resumed_on(served, caller)

        async def redirect(query: str, call_sid: str = caller.call_sid) -> str:
            form = {**caller.form("in-progress"), "CallSid": call_sid}
            signature = RequestValidator(TOKEN).compute_signature(f"{public}?{query}", form)
            async with httpx.AsyncClient() as http:
                answer = await http.post(
                    f"{served.webhook}?{query}",
                    data=form,
                    headers={"X-Twilio-Signature": signature},
                )
            assert answer.status_code == 200
            return answer.text

        assert "<Hangup" in await redirect(f"resume={marker}")
        assert "resumed already" in caplog.text
        stream, nonce, _ = marker.split(".")
        for forged in (f"resume={stream}.{nonce}.AAAA", f"resume=1.{nonce}.{marker[-24:]}"):
            assert "<Hangup" in await redirect(forged)
        assert "<Hangup" in await redirect(f"resume={marker}", call_sid="CA" + "0" * 32)
        assert caplog.text.count("webhook.bad_resume_marker") == 3
        assert len(served.assistant.of_type(SessionResumed)) == 1
        await caller.hang_up()


async def test_a_drain_timeout_is_not_resumed_elsewhere(serve, caplog):
    """Calls a draining instance ends at its timeout are hung up, even by an instance
    that could take them."""
    ledger = MemoryLedger()
    async with (
        serve(ledger=ledger, drain_timeout=0.3, **shared()) as first,
        serve(ledger=ledger, **shared()) as second,
    ):
        caller = await greeted_on(first, redirect_to=second)
        first.server.handle_exit(signal.SIGTERM, None)
        await caller.wait_until(lambda: caller.closed_by_server)
        assert caller.ended_by == "<Hangup/>"
        assert "on purpose (drain timeout)" in caplog.text
        assert not second.assistant.events


async def test_without_a_secret_nothing_follows_connect(serve):
    """Resume needs the shared secret: without one the TwiML ends with <Connect>."""
    async with serve() as served:
        caller = served.caller()
        twiml = await caller.dial()
        assert "<Redirect" not in twiml.xml and served.runtime.resumes is None


async def test_a_busy_worker_counts_a_resumed_stream_until_it_starts_elsewhere(serve):
    """Each stream of a call is claimed under its own number, so a worker that answered a
    resume keeps counting that call (a drain waits for it) until its new stream has started
    on another worker, though the call's first stream was claimed long ago."""
    claims = SharedClaims()
    async with serve(claim=claims, **shared()) as served:
        runtime = served.runtime
        runtime.claimed = claims.claimed.__contains__
        claims("stream:CA1", 60.0)  # the call's first stream, started elsewhere long ago
        assert runtime.tokens is not None
        runtime.tokens.issue("CA1", 1)  # the resume this worker answered
        await runtime.settle_pending()
        assert runtime.tokens.pending_streams() == [("CA1", 1)]
        claims(claim_key("CA1", 1), 60.0)  # the new stream starts on another worker
        await served.clock.advance(1.0)
        await runtime.settle_pending()
        assert runtime.tokens.pending() == 0
