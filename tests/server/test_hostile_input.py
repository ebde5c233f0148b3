"""Hostile input before and during a call: bounded logs and metrics, frames that once escaped
the parser, a mismatched call_id, and webhook bodies that are not Twilio's form."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import websockets
from tests.audio_samples import load_prompt, silence

from telephonist.call.events import EventKind, StreamRejected
from telephonist.dialogue.turns import UserText
from telephonist.twilio.rejection import Rejection

BIG = "x" * 15_000


def hostile_start(call_sid: str = "CA" + "0" * 32) -> str:
    """A start frame with a 15 kB encoding, sent before any token check."""
    return json.dumps(
        {
            "event": "start",
            "sequenceNumber": "1",
            "streamSid": "MZ1",
            "start": {
                "streamSid": "MZ1",
                "callSid": call_sid,
                "accountSid": "AC1",
                "customParameters": {},
                "mediaFormat": {"encoding": BIG, "sampleRate": 8000, "channels": 1},
            },
        }
    )


def stream_ws_url(served) -> str:
    """The media websocket of a served app over plain ws://."""
    return served.base_url.replace("http://", "ws://") + "/webhooks/twilio_media_streams/websocket"


async def test_hostile_frames_before_start_are_bounded_and_close_the_socket(serve, caplog):
    """Rejected frames before start: fixed metric labels, one log line per connection, and
    the connection is closed after a few."""
    caplog.set_level(logging.DEBUG, logger="telephonist")
    async with serve() as served, httpx.AsyncClient() as http:
        for _ in range(5):
            async with websockets.connect(stream_ws_url(served)) as ws:
                sent = 0
                try:
                    for _ in range(50):
                        await ws.send(hostile_start())
                        sent += 1
                    async with asyncio.timeout(5):
                        await ws.recv()
                except websockets.ConnectionClosed:
                    pass
                assert ws.close_code == 1008
        metrics = (await http.get(f"{served.base_url}/metrics")).text
    assert len(metrics) < 20_000, len(metrics)
    assert BIG[:100] not in metrics and BIG[:100] not in caplog.text
    assert f'reason="{Rejection.BAD_FORMAT.value}"' in metrics
    rejected = served.kinds(EventKind.REJECTED)
    assert 5 <= len(rejected) <= 5 * 3, "each connection closed after a few bad frames"
    lines = [r for r in caplog.records if "rejected" in r.getMessage()]
    assert len(lines) == 5, [r.getMessage() for r in lines]
    assert all(len(r.getMessage()) < 300 for r in caplog.records)


async def test_frames_that_escaped_the_parser_are_rejected_quietly(serve, caplog):
    """A timestamp of "²" or 5,000 digits and JSON nested 3,000 deep are rejected frames,
    not tracebacks, and the call goes on."""
    caplog.set_level(logging.WARNING, logger="telephonist")
    async with serve(transcripts=["still here"]) as served:
        caller = await served.connected_call()
        await caller.play_all()

        def media(timestamp: str) -> str:
            return json.dumps(
                {
                    "event": "media",
                    "streamSid": caller.stream_sid,
                    "media": {"timestamp": timestamp, "payload": "/w=="},
                }
            )

        for frame in (media("²"), media("9" * 5000), "[" * 3000, '{"a":' * 3000):
            await caller.send_text(frame)
        await caller.send_audio(load_prompt("agent-pass").mulaw + silence(1.0))
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(UserText)))
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert not caller.closed_by_server
        reasons = {e.reason for e in served.kinds(StreamRejected)}
        assert reasons == {Rejection.TOO_DEEP.value}, reasons
        await caller.hang_up()


async def test_start_with_a_foreign_call_id_keeps_the_token_unspent(serve):
    """A start whose call_id parameter names another call is refused before its token is
    redeemed: the real stream can still use it."""
    async with serve() as served:
        caller = served.caller()
        twiml = await caller.dial()
        await caller.connect(parameters={**twiml.parameters, "call_id": "CA" + "9" * 32})
        await caller.wait_until(lambda: caller.closed_by_server)
        again = served.caller(call_sid=caller.call_sid)
        again.twiml = twiml
        await again.connect()
        await served.wait_for_speech(again, served.assistant.greeting)
        await again.hang_up()


async def test_multipart_webhook_with_a_file_is_refused_without_a_traceback(serve, caplog):
    """Twilio posts a urlencoded form; a multipart body with a file part is a 400, with or
    without signature checks, never a 500."""
    caplog.set_level(logging.ERROR)
    for channel in ({}, {"twilio_auth_token": "test-auth-token"}):
        async with serve(**channel) as served, httpx.AsyncClient() as http:
            answer = await http.post(
                served.webhook,
                data={"CallSid": "CA" + "1" * 32},
                files={"From": ("x.txt", b"hello", "text/plain")},
                headers={"X-Twilio-Signature": "abc"},
            )
            assert answer.status_code in (400, 403), answer.status_code
            big = await http.post(
                served.webhook,
                content=b"CallSid=CA1&From=" + b"1" * 200_000,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert big.status_code == 413
    assert not caplog.records, [r.getMessage() for r in caplog.records]
