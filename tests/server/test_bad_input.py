"""Malformed frames from one caller are logged once and ignored; they never hurt the call,
another call, or the server."""

from __future__ import annotations

import asyncio
import base64
import json
import logging

from tests.audio_samples import load_prompt, silence

from telephonist.call.events import EventKind, StreamRejected
from telephonist.dialogue.turns import UserText
from telephonist.twilio.rejection import Rejection


def bad_frames(stream_sid: str, start: dict) -> list[str | bytes]:
    """Every kind of bad input, for one stream."""
    media = {"event": "media", "streamSid": stream_sid, "media": {"payload": "////"}}
    return [
        "this is not json",
        "[1, 2, 3]",
        json.dumps({"streamSid": stream_sid}),
        json.dumps({"event": "media", "streamSid": stream_sid, "media": {}}),
        json.dumps({**media, "media": {"payload": "not base64 at all!"}}),
        json.dumps({**media, "streamSid": "MZ-somebody-else"}),
        json.dumps(start),
        json.dumps({"event": "dtmf", "streamSid": stream_sid, "dtmf": {"digit": "12"}}),
        json.dumps({"event": "unknown-event", "streamSid": stream_sid}),
        json.dumps({**media, "media": {"payload": base64.b64encode(b"\xff" * 20000).decode()}}),
        b"\x00\x01binary frame",
    ]


async def test_bad_frames_are_ignored_and_the_call_goes_on(serve, caplog):
    """After every kind of bad frame, the same call still answers speech."""
    caplog.set_level(logging.WARNING, logger="telephonist")
    async with serve(transcripts=["still here"]) as served:
        caller = await served.connected_call()
        await caller.play_all()
        start = {
            "event": "start",
            "sequenceNumber": "1",
            "streamSid": caller.stream_sid,
            "start": {
                "streamSid": caller.stream_sid,
                "callSid": caller.call_sid,
                "accountSid": caller.account_sid,
                "customParameters": {},
            },
        }
        for frame in bad_frames(caller.stream_sid, start):
            await caller.send_text(frame)
        await caller.send_audio(load_prompt("agent-pass").mulaw + silence(1.0))
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(UserText)))
        assert served.assistant.of_type(UserText)[0].text == "still here"
        reasons = [e.reason for e in served.kinds(StreamRejected)]
        assert len(reasons) == 10  # the unknown event type is ignored without complaint
        assert "oversized frame" in reasons and "binary frame" in reasons
        assert "second start on one stream" in reasons
        await caller.send_text("this is not json")
        await served.wait_event(EventKind.REJECTED, 11)
        logged = [r for r in caplog.records if r.getMessage().startswith("stream.rejected")]
        assert len(logged) == 10, "each kind of bad input is logged once per call"
        assert all(getattr(r, "call_id", None) == caller.call_sid for r in logged)
        await caller.hang_up()


async def test_media_before_start_is_ignored(serve):
    """A little audio before the start frame is dropped, and the call starts normally after
    it (more closes the socket: see test_hostile_input)."""
    async with serve() as served:
        caller = served.caller()
        await caller.dial()
        await caller.connect(start=False)
        await caller.send_audio(silence(0.04))
        await served.wait_event(EventKind.REJECTED, 2)
        assert not served.asr.streams
        await caller.send_start(caller.twiml.parameters)
        await served.wait_for_speech(caller, served.assistant.greeting)
        await caller.hang_up()


async def test_a_misbehaving_caller_does_not_disturb_another_call(serve):
    """One caller flooding garbage while another talks: the other call is unaffected."""
    async with serve(transcripts=["hello there"]) as served:
        good = await served.connected_call()
        bad = await served.connected_call()
        await good.play_all()

        async def flood() -> None:
            for _ in range(200):
                for frame in bad_frames(bad.stream_sid, {}):
                    await bad.send_text(frame)

        await asyncio.gather(
            flood(), good.send_audio(load_prompt("agent-pass").mulaw + silence(1.0))
        )
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(UserText)))
        good_turns = [
            e
            for cid, e in served.assistant.events
            if cid == good.call_sid and isinstance(e, UserText)
        ]
        assert good_turns == [UserText("hello there", "speech", 0.9)]
        await served.wait_for_speech(good, "You said hello there")
        assert not bad.closed_by_server
        await good.hang_up()
        await bad.hang_up()


async def test_dropped_socket_ends_the_session_once(serve):
    """A socket that vanishes without stop still ends the session exactly once."""
    from telephonist.dialogue.turns import SessionEnd

    async with serve() as served:
        caller = await served.connected_call()
        await caller.close()
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(SessionEnd)))
        await served.wait_event(EventKind.CALL_ENDED)
        assert served.assistant.of_type(SessionEnd) == [SessionEnd("stream closed")]
        assert not served.runtime.sessions


def mutations(valid: list[dict], seed: int, count: int) -> list[str]:
    """Seeded random damage to valid frames: values of the wrong type, missing, huge or
    nested; truncated or spliced text."""
    import random

    rng = random.Random(seed)
    odd_values: list[object] = [
        None,
        0,
        -1,
        2**70,
        1e308,
        "",
        "x" * 300,
        [],
        {},
        {"a": {"b": [1]}},
        True,
        "\u0000",
        "🙂",
        "////",
        "MZ" + "0" * 32,
    ]
    out: list[str] = []
    for _ in range(count):
        frame = json.loads(json.dumps(rng.choice(valid)))
        node = frame
        while isinstance(node, dict) and node and rng.random() < 0.6:
            key = rng.choice(list(node))
            if isinstance(node[key], dict) and rng.random() < 0.5:
                node = node[key]
                continue
            if rng.random() < 0.3:
                del node[key]
            else:
                node[key] = rng.choice(odd_values)
            break
        text = json.dumps(frame)
        cut = rng.random()
        if cut < 0.15:
            text = text[: rng.randrange(len(text))]
        elif cut < 0.25:
            at = rng.randrange(len(text))
            text = text[:at] + rng.choice(['"', "}", "{", "\\", ",", "\x7f"]) + text[at:]
        out.append(text)
    return out


async def test_random_damage_never_takes_a_call_or_the_server_down(serve, caplog):
    """Hundreds of seeded random mutations of valid frames: no internal error, the call still
    answers speech, and a second call is served as usual."""
    caplog.set_level(logging.ERROR, logger="telephonist")
    async with serve(transcripts=["first", "second"]) as served:
        caller = await served.connected_call()
        await caller.play_all()
        sid = caller.stream_sid
        valid = [
            {
                "event": "media",
                "sequenceNumber": "9",
                "streamSid": sid,
                "media": {
                    "track": "inbound",
                    "chunk": "8",
                    "timestamp": "160",
                    "payload": base64.b64encode(b"\xff" * 160).decode(),
                },
            },
            {"event": "mark", "sequenceNumber": "10", "streamSid": sid, "mark": {"name": "m1"}},
            {
                "event": "dtmf",
                "sequenceNumber": "11",
                "streamSid": sid,
                "dtmf": {"track": "inbound_track", "digit": "5"},
            },
            {
                "event": "start",
                "sequenceNumber": "1",
                "streamSid": sid,
                "start": {
                    "streamSid": sid,
                    "callSid": caller.call_sid,
                    "accountSid": "AC1",
                    "customParameters": {"stream_token": "x"},
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
            },
            {"event": "connected", "protocol": "Call", "version": "1.0.0"},
        ]
        for frame in mutations(valid, seed=20261125, count=400):
            if '"event": "stop"' not in frame:
                await caller.send_text(frame)

        def heard() -> list[str]:  # what the caller said (valid keypresses also get through)
            return [e.text for e in served.assistant.of_type(UserText) if e.source == "speech"]

        await caller.send_audio(load_prompt("agent-pass").mulaw + silence(1.0))
        await served.assistant.wait_for(lambda: heard() == ["first"])
        second = await served.connected_call()
        await second.play_all()
        await second.send_audio(load_prompt("agent-pass").mulaw + silence(1.0))
        await served.assistant.wait_for(lambda: heard() == ["first", "second"])
        rejected = {e.reason for e in served.kinds(StreamRejected)}
        assert rejected <= {r.value for r in Rejection}, rejected  # labels from the fixed set
        assert len(rejected) >= 6, rejected  # the damage reached many different checks
        await caller.hang_up()
        await second.hang_up()
        await served.wait_event(EventKind.CALL_ENDED, 2)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records
    ]
