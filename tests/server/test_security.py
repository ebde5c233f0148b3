"""Basic auth, Twilio signatures and stream tokens, against the real server."""

from __future__ import annotations

import httpx
import pytest
from tests.fakes.twilio_rest import FakeTwilioRest
from twilio.request_validator import RequestValidator

from telephonist.simulator.caller import CallFailed
from telephonist.twilio.rest import TwilioCallControl

TOKEN = "test-auth-token-12345"


async def test_health_routes(serve):
    """The channel's health check and the process health route answer without auth."""
    async with serve(username="u", password="p") as served, httpx.AsyncClient() as http:
        channel = await http.get(f"{served.base_url}/webhooks/twilio_media_streams/")
        assert channel.json() == {"status": "ok"}
        process = await http.get(f"{served.base_url}/health")
        assert process.json() == {"status": "ok", "active_calls": 0}
        get_webhook = await http.get(served.webhook)
        assert get_webhook.status_code == 405


async def test_basic_auth_challenges_then_accepts_credentials(serve):
    """No Authorization gets a 401 challenge; Twilio's retry with user:pass succeeds."""
    async with serve(username="alice", password="s3cret") as served, httpx.AsyncClient() as http:
        bare = await http.post(served.webhook, data={"CallSid": "CA1"})
        assert bare.status_code == 401
        assert bare.headers["www-authenticate"].startswith("Basic realm=")
        url = served.webhook.replace("http://", "http://alice:s3cret@")
        twiml = await served.caller(webhook_url=url).dial()
        assert twiml.parameters["call_id"]
        with pytest.raises(CallFailed, match="401"):
            await served.caller(webhook_url=url.replace("s3cret", "wrong")).dial()


async def test_signed_webhook_and_stream_are_accepted(serve):
    """A caller signing like Twilio gets TwiML and a working stream."""
    async with serve(twilio_auth_token=TOKEN) as served:
        caller = await served.connected_call(auth_token=TOKEN)
        assert caller.received_audio
        await caller.hang_up()


async def test_unsigned_or_wrongly_signed_webhook_is_refused(serve):
    """Without a valid X-Twilio-Signature the webhook answers 403."""
    async with serve(twilio_auth_token=TOKEN) as served:
        with pytest.raises(CallFailed, match="403"):
            await served.caller().dial()
        with pytest.raises(CallFailed, match="403"):
            await served.caller(auth_token="another-token").dial()


async def test_signature_is_checked_against_server_url_not_request_headers(serve):
    """Behind a TLS proxy the URL Twilio signed is server_url's, whatever Host the request
    carries; a signature made for another URL fails even with that URL's host forwarded."""
    form = {"CallSid": "CA" + "1" * 32, "From": "+1555", "To": "+1666"}
    path = "/webhooks/twilio_media_streams/webhook"
    async with (
        serve(twilio_auth_token=TOKEN, server_url="bot.example.com") as served,
        httpx.AsyncClient() as http,
    ):
        signature = RequestValidator(TOKEN).compute_signature(
            f"https://bot.example.com{path}", form
        )
        answer = await http.post(
            served.webhook, data=form, headers={"X-Twilio-Signature": signature}
        )
        assert answer.status_code == 200
        assert "<Stream" in answer.text

        other = RequestValidator(TOKEN).compute_signature(f"https://other.example.net{path}", form)
        forged = await http.post(
            served.webhook,
            data=form,
            headers={
                "X-Twilio-Signature": other,
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "other.example.net",
                "Host": "other.example.net",
            },
        )
        assert forged.status_code == 403


async def test_stream_upgrade_needs_a_signature(serve):
    """The websocket upgrade is refused without a valid signature of the wss:// URL."""
    async with serve(twilio_auth_token=TOKEN) as served:
        caller = served.caller(auth_token=TOKEN)
        await caller.dial()
        caller.auth_token = None  # the upgrade goes out unsigned
        with pytest.raises(CallFailed, match="403"):
            await caller.connect()
        assert not served.assistant.events
        assert served.runtime.prewarmer.pending == 1, "the signed webhook's stream is unclaimed"


async def test_stream_signature_with_trailing_slash_is_accepted(serve):
    """Twilio sometimes signs the stream URL with a trailing slash; both forms pass."""
    async with serve(twilio_auth_token=TOKEN) as served:
        caller = served.caller(auth_token=TOKEN)
        twiml = await caller.dial()
        caller.twiml = type(twiml)(twiml.stream_url + "/", twiml.parameters, twiml.xml)
        await caller.connect()
        await served.wait_for_speech(caller, served.assistant.greeting)
        await caller.hang_up()


async def test_start_without_stream_token_is_closed_before_any_provider(serve):
    """A stream whose start lacks the token is closed; no ASR stream is ever opened."""
    async with serve() as served:
        caller = served.caller()
        await caller.dial()
        await caller.connect(parameters={"call_id": caller.call_sid})
        await caller.wait_until(lambda: caller.closed_by_server)
        assert not served.asr.streams
        assert not served.assistant.events
        assert not served.tts.requests


async def answered_call(served):
    """A call dialled, connected and greeted; the caller and the TwiML it got."""
    caller = served.caller()
    twiml = await caller.dial()
    await caller.connect()
    await served.wait_for_speech(caller, served.assistant.greeting)
    return caller, twiml


async def replayed_and_refused(served, call_sid, twiml) -> None:
    """Present ``twiml``'s token again for ``call_sid``: the server closes the stream."""
    replay = served.caller(call_sid=call_sid)
    replay.twiml = twiml
    await replay.connect()
    await replay.wait_until(lambda: replay.closed_by_server)


async def test_stream_token_is_single_use_and_bound_to_the_call(serve):
    """A token works once, only for its CallSid, and only before it expires."""
    async with serve(stream_token_ttl=60) as served:
        first, twiml = await answered_call(served)
        await replayed_and_refused(served, first.call_sid, twiml)

        other = served.caller()
        other.twiml = twiml  # another call presenting this call's token
        await other.connect(parameters={**twiml.parameters, "call_id": other.call_sid})
        await other.wait_until(lambda: other.closed_by_server)

        late = served.caller()
        await late.dial()
        await served.clock.advance(61)
        await late.connect()
        await late.wait_until(lambda: late.closed_by_server)
        assert len(served.asr.streams) == 1
        await first.hang_up()


async def test_hang_up_through_twilio_rest_when_credentials_are_set(serve):
    """With account credentials, a bot hang-up updates the call to completed via REST."""
    rest = FakeTwilioRest("AC" + "a" * 32, TOKEN)
    async with rest.running() as api_base:
        control = TwilioCallControl(rest.account_sid, TOKEN, api_base=api_base)
        async with serve(call_control=control, transcripts=["goodbye"]) as served:
            caller = await served.connected_call()
            await caller.play_all()
            from tests.audio_samples import load_prompt, silence

            await caller.send_audio(load_prompt("agent-pass").mulaw + silence(1.0))
            await served.wait_for_speech(caller, "Goodbye!")
            assert not rest.updates, "no hang-up before the goodbye is heard"
            await caller.play_all()
            await caller.wait_until(lambda: caller.closed_by_server)
        assert rest.updates == [(caller.call_sid, {"Status": "completed"})]


async def test_instances_sharing_the_token_secret_accept_each_others_streams(serve):
    """Webhook answered by one instance, stream landing on another behind the same load
    balancer: accepted with a shared stream_token_secret, refused without."""
    secret = "s" * 40
    async with (
        serve(stream_token_secret=secret) as webhook_side,
        serve(stream_token_secret=secret) as stream_side,
        serve() as stranger,
    ):
        caller = webhook_side.caller()
        caller.stream_url_override = stream_side.caller().stream_url_override
        await caller.dial()
        await caller.connect()
        await stream_side.wait_for_speech(caller, stream_side.assistant.greeting)
        assert not webhook_side.asr.streams and len(stream_side.asr.streams) == 1
        await caller.hang_up()

        refused = webhook_side.caller()
        refused.stream_url_override = stranger.caller().stream_url_override
        await refused.dial()
        await refused.connect()
        await refused.wait_until(lambda: refused.closed_by_server)
        assert not stranger.asr.streams


class SharedClaims:
    """A store's claim_once shared by two instances (what Redis/PostgreSQL provide)."""

    def __init__(self, fail: bool = False) -> None:
        self.claimed: set[str] = set()
        self.fail = fail

    def __call__(self, key: str, ttl_seconds: float) -> bool:
        if self.fail:
            raise ConnectionError("store down")
        first = key not in self.claimed
        self.claimed.add(key)
        return first


async def test_a_token_used_on_one_instance_is_refused_on_another(serve):
    """With a shared store, a replayed TwiML token is refused by every other instance."""
    secret, claims = "s" * 40, SharedClaims()
    async with (
        serve(stream_token_secret=secret, claim=claims) as first,
        serve(stream_token_secret=secret, claim=claims) as second,
    ):
        caller, twiml = await answered_call(first)
        await replayed_and_refused(second, caller.call_sid, twiml)
        assert not second.asr.streams and len(claims.claimed) == 1
        await caller.hang_up()


async def test_a_store_that_cannot_answer_does_not_refuse_the_call(serve, caplog):
    async with serve(claim=SharedClaims(fail=True)) as served:
        caller = await served.connected_call()
        assert "stream.claim_unavailable: ConnectionError" in caplog.text
        await caller.hang_up()
