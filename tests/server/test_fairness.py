"""One caller sending audio faster than real time cannot take other calls' turns, nor write
absurd latencies into /metrics."""

from __future__ import annotations

import logging
import re

import httpx
from tests.audio_samples import load_prompt, silence

from telephonist.call.events import EventKind, StreamRejected, TurnLatency
from telephonist.dialogue.turns import UserText
from telephonist.twilio.rejection import Rejection


async def test_audio_beyond_the_budget_is_dropped_counted_and_logged_once(serve, caplog):
    """At 1x real time after a 5 s burst, ten seconds sent at once: the second half never
    reaches the ASR; the drops are counted in /metrics and logged once; the call and another
    (within its budget) go on."""
    caplog.set_level(logging.WARNING, logger="telephonist")
    async with serve(transcripts=["other"], limits={"media_rate": 1, "media_burst": 5}) as served:
        fast = await served.connected_call()
        other = await served.connected_call()
        stream = served.asr.streams[0]
        before = stream.received
        await fast.send_audio(silence(5.0))
        await fast.send_audio(silence(5.0))
        await served.wait_event(EventKind.REJECTED)
        await other.play_all()
        await other.send_audio(load_prompt("agent-pass").mulaw + silence(1.0))
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(UserText)))
        await fast.hang_up()
        await served.wait_event(EventKind.CALL_ENDED)
        drops = [e for e in served.kinds(StreamRejected) if e.call_id == fast.call_sid]
        dropped = sum(e.count for e in drops)
        assert {e.reason for e in drops} == {Rejection.OVER_RATE.value}
        assert 200 <= dropped <= 250, dropped
        assert stream.received - before == (500 - dropped) * 160
        assert caplog.text.count(Rejection.OVER_RATE.value) == 1
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"{served.base_url}/metrics")).text
        label = f'reason="{Rejection.OVER_RATE.value}"'
        assert f"telephonist_rejected_messages_total{{{label}}} {float(dropped)}" in metrics
        assert not other.closed_by_server
        await other.hang_up()


async def test_a_backlog_of_audio_does_not_date_the_end_of_speech_back(serve):
    """Thirty seconds sent at once after speech: the turn's latency stays what the VAD
    needed, not the length of the backlog, in events and in /metrics."""
    async with serve(transcripts=["flood"], limits={"media_burst": 100}) as served:
        caller = await served.connected_call()
        await caller.play_all()
        await caller.send_audio(load_prompt("agent-pass").mulaw + silence(30.0))
        await served.wait_event(EventKind.LATENCY)
        latency = served.kinds(TurnLatency)[0].speech_end_to_audio_ms
        assert latency < 2000, latency
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"{served.base_url}/metrics")).text
        over = re.search(r'telephonist_turn_latency_seconds_bucket\{le="5.0"\} (\S+)', metrics)
        count = re.search(r"telephonist_turn_latency_seconds_count (\S+)", metrics)
        assert over and count and over[1] == count[1] == "1.0"
        await caller.hang_up()
