"""The sans-I/O Media Streams protocol: literal wire data in, events and frames out."""

from __future__ import annotations

import base64
import json

import pytest

from telephonist.errors import ProtocolError
from telephonist.twilio.messages import Connected, Dtmf, Mark, Media, Start, Stop, parse
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
    "frame, message",
    [
        ("nope", "not valid JSON"),
        ("[]", "not a JSON object"),
        ('{"streamSid":"MZ1"}', "no 'event'"),
        ('{"event":"media","streamSid":"MZ1","media":{"payload":"***"}}', "not valid base64"),
        ('{"event":"media","streamSid":"MZ1"}', "'media' must be an object"),
        ('{"event":"dtmf","streamSid":"MZ1","dtmf":{"digit":"x"}}', "not a DTMF digit"),
        ('{"event":"mark","mark":{"name":"m"}}', "'streamSid' must be a string"),
        (START.replace("audio/x-mulaw", "audio/l16"), "unsupported media format"),
    ],
)
def test_parse_rejects_malformed_frames(frame, message):
    """Malformed frames raise ProtocolError saying what is wrong."""
    with pytest.raises(ProtocolError, match=message):
        parse(frame)


def test_stream_state_machine():
    """start comes first and once; frames must carry our streamSid; stop ends the stream."""
    stream = MediaStream()
    with pytest.raises(ProtocolError, match="media before start"):
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
