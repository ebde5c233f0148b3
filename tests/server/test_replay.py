"""A signed webhook replayed for a call that already streamed is hung up, on another instance
sharing the ledger too; a webhook Twilio retries before any stream gets fresh TwiML; a call
streams once, across instances too."""

from __future__ import annotations

import logging

import httpx
import pytest
from tests.server.test_security import TOKEN, SharedClaims, replayed_and_refused
from twilio.request_validator import RequestValidator

from telephonist.dialogue.turns import SessionStart
from telephonist.stores.memory import MemoryLedger


async def replay_webhook(served, caller) -> str:
    """POST ``caller``'s voice webhook to ``served`` again; the TwiML answered."""
    async with httpx.AsyncClient() as http:
        answer = await http.post(served.webhook, data=caller.form())
    assert answer.status_code == 200
    return answer.text


async def test_a_replayed_webhook_gets_hangup_during_and_after_the_call(serve, caplog):
    """The same signed webhook again, while the call streams and after it ended: <Hangup/>,
    logged, and no new token or conversation."""
    caplog.set_level(logging.WARNING, logger="telephonist")
    async with serve(twilio_auth_token=TOKEN) as served:
        caller = await served.connected_call(auth_token=TOKEN)
        form = caller.form()
        signature = RequestValidator(TOKEN).compute_signature(served.webhook, form)
        for _ in range(2):
            async with httpx.AsyncClient() as http:
                answer = await http.post(
                    served.webhook, data=form, headers={"X-Twilio-Signature": signature}
                )
            assert answer.status_code == 200
            assert "<Hangup" in answer.text and "stream_token" not in answer.text
            await caller.hang_up()
        assert "webhook.replayed" in caplog.text
        assert len(served.assistant.of_type(SessionStart)) == 1


async def test_a_webhook_retried_before_its_stream_gets_fresh_twiml(serve):
    """Twilio retries a webhook whose answer it lost: a new token, and the call streams once
    with whichever token comes first."""
    async with serve() as served:
        caller = served.caller()
        first = await caller.dial()
        retried = await caller.dial()
        assert retried.parameters["stream_token"] != first.parameters["stream_token"]
        await caller.connect()
        await served.wait_for_speech(caller, served.assistant.greeting)
        await replayed_and_refused(served, caller.call_sid, first)
        assert len(served.asr.streams) == 1
        await caller.hang_up()


async def test_a_call_streams_once_across_instances_sharing_a_store(serve):
    """The stream claim, the second line of defence: with only the claims shared (no ledger
    here), a replay answered by another instance gets TwiML, but its stream is refused there,
    as is a token issued before the stream started: the store knows the call streamed."""
    secret, claims = "s" * 40, SharedClaims()
    async with (
        serve(stream_token_secret=secret, claim=claims) as first,
        serve(stream_token_secret=secret, claim=claims) as second,
    ):
        caller = await first.connected_call()
        replay = second.caller(call_sid=caller.call_sid)
        twiml = await replay.dial()
        await replayed_and_refused(second, caller.call_sid, twiml)
        assert not second.asr.streams and not second.assistant.events
        await caller.hang_up()


@pytest.mark.parametrize("resume", [True, False])
async def test_a_replayed_webhook_is_hung_up_on_another_instance(serve, caplog, resume):
    """The call streams on A; its webhook replayed to B gets <Hangup/> there (B reads the
    stream's start in the shared ledger), with resume on or off; another call still gets
    its stream on B."""
    caplog.set_level(logging.WARNING, logger="telephonist")
    ledger = MemoryLedger()
    channel = {"stream_token_secret": "s" * 40, "resume": resume}
    async with (
        serve(ledger=ledger, **channel) as first,
        serve(ledger=ledger, **channel) as second,
    ):
        caller = await first.connected_call()
        answer = await replay_webhook(second, caller)
        assert "<Hangup" in answer and "stream_token" not in answer
        assert "webhook.replayed" in caplog.text
        other = await second.connected_call()
        await other.hang_up()
        await caller.hang_up()
        assert "<Hangup" in await replay_webhook(second, caller)  # after the call, too
    assert len(first.assistant.of_type(SessionStart)) == 1
    assert len(second.assistant.of_type(SessionStart)) == 1
