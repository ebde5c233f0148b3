"""The sans-I/O Media Streams protocol: literal wire data in, events and frames out."""

from __future__ import annotations

import base64
import json

import pytest

from telephonist.errors import ProtocolError
from telephonist.twilio.messages import Connected, Dtmf, Mark, Media, Start, Stop, parse
from telephonist.twilio.rejection import FrameRejected, Rejection
from telephonist.twilio.stream import MediaStream, StreamState

START = (
    '{"event":"start","sequenceNumber":"1","start":{"accountSid":"AC1","streamSid":"MZ1",'
    '"callSid":"CA1","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw",'
    '"sampleRate":8000,"channels":1},"customParameters":{"call_id":"CA1"}},'
    '"streamSid":"MZ1"}'
)


def media(payload: bytes = b"\xff" * 160, sid: str = "MZ1") -> str:
    """An inbound media frame as Twilio sends it."""
    return json.dumps(
        {
            "event": "media",
            "sequenceNumber": "2",
            "streamSid": sid,
            "media": {
                "track": "inbound",
                "chunk": "1",
                "timestamp": "20",
                "payload": base64.b64encode(payload).decode(),
            },
        }
    )


def test_parse_every_inbound_event():
    """Each documented event parses to its dataclass with the fields we use."""
    assert parse('{"event":"connected","protocol":"Call","version":"1.0.0"}') == Connected("Call")
    start = parse(START)
    assert start == Start("MZ1", "CA1", "AC1", {"call_id": "CA1"})
    assert parse(media(b"\x01\x02")) == Media("MZ1", b"\x01\x02", 20)
    assert parse(
        '{"event":"dtmf","streamSid":"MZ1","dtmf":{"track":"inbound_track","digit":"#"}}'
    ) == Dtmf("MZ1", "#")
    assert parse('{"event":"mark","streamSid":"MZ1","mark":{"name":"m1"}}') == Mark("MZ1", "m1")
    assert parse(
        '{"event":"stop","streamSid":"MZ1","stop":{"accountSid":"AC1","callSid":"CA1"}}'
    ) == Stop("MZ1", "CA1")
    assert parse('{"event":"something-new"}') is None


@pytest.mark.parametrize(
    "frame, reason",
    [
        ("nope", Rejection.NOT_JSON),
        ("[]", Rejection.NOT_OBJECT),
        ('{"streamSid":"MZ1"}', Rejection.NO_EVENT),
        ('{"event":"media","streamSid":"MZ1","media":{"payload":"***"}}', Rejection.BAD_BASE64),
        ('{"event":"media","streamSid":"MZ1"}', Rejection.BAD_FIELD),
        ('{"event":"dtmf","streamSid":"MZ1","dtmf":{"digit":"x"}}', Rejection.BAD_DTMF),
        ('{"event":"mark","mark":{"name":"m"}}', Rejection.BAD_FIELD),
        (START.replace("audio/x-mulaw", "audio/l16"), Rejection.BAD_FORMAT),
        (START.replace('"CA1"', '"CA' + "1" * 70 + '"', 1), Rejection.BAD_FIELD),
        ("[" * 3000, Rejection.TOO_DEEP),
        ('{"a":' * 3000, Rejection.TOO_DEEP),
        ('{"event":"media","n":' + "1" * 5000 + "}", Rejection.NOT_JSON),
    ],
)
def test_parse_rejects_malformed_frames(frame, reason):
    """Malformed frames raise FrameRejected (a ProtocolError) with a reason from the set."""
    with pytest.raises(ProtocolError) as caught:
        parse(frame)
    assert isinstance(caught.value, FrameRejected)
    assert caught.value.reason is reason


@pytest.mark.parametrize("timestamp", ["\u00b2", "9" * 5000, "-5", "1.5", "", "\u0663"])
def test_odd_media_timestamps_are_ignored_not_fatal(timestamp):
    """A timestamp that is not a plain decimal (or absurdly long) parses as None."""
    frame = json.dumps(
        {"event": "media", "streamSid": "MZ1", "media": {"timestamp": timestamp, "payload": ""}}
    )
    assert parse(frame) == Media("MZ1", b"", None)


def test_rejections_echo_caller_input_only_briefly():
    """A 15 kB media encoding appears in the message cut to a few characters."""
    frame = START.replace("audio/x-mulaw", "x" * 15_000)
    with pytest.raises(FrameRejected) as caught:
        parse(frame)
    assert caught.value.reason is Rejection.BAD_FORMAT
    assert len(str(caught.value)) < 80
    nested = START.replace('"audio/x-mulaw"', "[[[[1]]]]")
    with pytest.raises(FrameRejected, match="<list>"):
        parse(nested)


def test_stream_state_machine():
    """start comes first and once; frames must carry our streamSid; stop ends the stream."""
    stream = MediaStream()
    with pytest.raises(ProtocolError, match="before start: media"):
        stream.receive(media())
    with pytest.raises(ProtocolError, match="cannot send"):
        stream.media(b"\xff")
    assert isinstance(stream.receive(START), Start)
    assert stream.state is StreamState.STREAMING
    assert stream.stream_sid == "MZ1"
    with pytest.raises(ProtocolError, match="second start"):
        stream.receive(START)
    with pytest.raises(ProtocolError, match="another streamSid"):
        stream.receive(media(sid="MZ2"))
    assert isinstance(stream.receive(media()), Media)
    assert isinstance(stream.receive('{"event":"stop","streamSid":"MZ1"}'), Stop)
    state: StreamState = stream.state  # changed by receive(), which mypy cannot see
    assert state is StreamState.STOPPED
    with pytest.raises(ProtocolError, match="after stop"):
        stream.receive(media())


def test_stream_caps_frame_size():
    """Frames over the cap are refused before parsing."""
    stream = MediaStream(max_message_bytes=1000)
    stream.receive(START)
    with pytest.raises(ProtocolError, match="exceeds 1000"):
        stream.receive(media(b"\xff" * 2000))


def test_outbound_frames_are_exactly_twilios_shapes():
    """media/mark/clear serialise to the documented JSON."""
    stream = MediaStream()
    stream.receive(START)
    assert json.loads(stream.media(b"\xff\x7f")) == {
        "event": "media",
        "streamSid": "MZ1",
        "media": {"payload": "/38="},
    }
    name, frame = stream.mark()
    assert json.loads(frame) == {"event": "mark", "streamSid": "MZ1", "mark": {"name": name}}
    assert stream.mark()[0] != name
    assert json.loads(stream.clear()) == {"event": "clear", "streamSid": "MZ1"}
