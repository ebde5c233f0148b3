"""Twilio Media Streams messages: inbound frames parsed into frozen dataclasses, outbound
messages serialised to JSON text. Wire facts: Twilio's websocket-messages reference (all
frames are JSON text; numeric-looking fields arrive as strings).

Whatever a frame holds, `parse` raises only `FrameRejected` (a `ProtocolError` with a reason
from a closed set) and echoes no more than a few characters of it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from telephonist.twilio.rejection import FrameRejected, Rejection, brief

__all__ = [
    "Connected",
    "Dtmf",
    "InboundMessage",
    "Mark",
    "Media",
    "Start",
    "Stop",
    "clear_message",
    "mark_message",
    "media_message",
    "parse",
]


@dataclass(frozen=True, slots=True)
class Connected:
    """First frame after the upgrade."""

    protocol: str


@dataclass(frozen=True, slots=True)
class Start:
    """Stream metadata; arrives once, right after ``connected``."""

    stream_sid: str
    call_sid: str
    account_sid: str
    custom_parameters: Mapping[str, str] = field(default_factory=dict)
    encoding: str = "audio/x-mulaw"
    sample_rate: int = 8000


@dataclass(frozen=True, slots=True)
class Media:
    """Caller audio: raw mu-law bytes."""

    stream_sid: str
    payload: bytes
    timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Dtmf:
    """A keypress on the caller's phone."""

    stream_sid: str
    digit: str


@dataclass(frozen=True, slots=True)
class Mark:
    """Twilio's echo of a mark we sent: playback reached it (or a ``clear`` dropped it)."""

    stream_sid: str
    name: str


@dataclass(frozen=True, slots=True)
class Stop:
    """The stream stopped (call ended); the last frame."""

    stream_sid: str
    call_sid: str = ""


InboundMessage = Connected | Start | Media | Dtmf | Mark | Stop

_DTMF_DIGITS = frozenset("0123456789*#ABCD")
MAX_SID_CHARS = 64
"""Twilio's SIDs are 34 characters; a longer one is not Twilio's (and would bloat logs)."""
_MAX_TIMESTAMP_DIGITS = 15


def _obj(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise FrameRejected(Rejection.BAD_FIELD, f"'{key}' must be an object")
    return value


def _str(data: Mapping[str, Any], key: str, *, where: str = "", default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise FrameRejected(Rejection.BAD_FIELD, f"'{where}{key}' must be a string")
    return value


def _sid(data: Mapping[str, Any], key: str, *, where: str = "", default: str | None = None) -> str:
    value = _str(data, key, where=where, default=default)
    if len(value) > MAX_SID_CHARS:
        raise FrameRejected(Rejection.BAD_FIELD, f"'{where}{key}' is too long")
    return value


def _timestamp(value: object) -> int | None:
    """Milliseconds from a decimal string; None for anything else ("²" is a digit to
    ``str.isdigit`` but not to ``int``, and ``int`` refuses thousands of digits)."""
    if (
        isinstance(value, str)
        and len(value) <= _MAX_TIMESTAMP_DIGITS
        and value.isascii()
        and value.isdigit()
    ):
        return int(value)
    return None


def _parse_start(data: Mapping[str, Any]) -> Start:
    start = _obj(data, "start")
    params = start.get("customParameters") or {}
    if not isinstance(params, Mapping) or not all(isinstance(v, str) for v in params.values()):
        raise FrameRejected(Rejection.BAD_FIELD, "'start.customParameters' must hold strings")
    fmt = start.get("mediaFormat") or {}
    if not isinstance(fmt, Mapping):
        raise FrameRejected(Rejection.BAD_FIELD, "'start.mediaFormat' must be an object")
    encoding = fmt.get("encoding", "audio/x-mulaw")
    rate = fmt.get("sampleRate", 8000)
    if encoding != "audio/x-mulaw" or rate != 8000:
        raise FrameRejected(Rejection.BAD_FORMAT, f"{brief(encoding)} at {brief(rate)} Hz")
    stream_sid = _sid(start, "streamSid", where="start.", default=data.get("streamSid"))
    return Start(
        stream_sid=stream_sid,
        call_sid=_sid(start, "callSid", where="start."),
        account_sid=_sid(start, "accountSid", where="start.", default=""),
        custom_parameters=dict(params),
    )


def _parse_media(data: Mapping[str, Any]) -> Media:
    media = _obj(data, "media")
    try:
        payload = base64.b64decode(_str(media, "payload", where="media."), validate=True)
    except binascii.Error:
        raise FrameRejected(Rejection.BAD_BASE64, "'media.payload'") from None
    return Media(
        stream_sid=_sid(data, "streamSid"),
        payload=payload,
        timestamp_ms=_timestamp(media.get("timestamp")),
    )


def _parse_dtmf(data: Mapping[str, Any]) -> Dtmf:
    digit = _str(_obj(data, "dtmf"), "digit", where="dtmf.")
    if len(digit) != 1 or digit not in _DTMF_DIGITS:
        raise FrameRejected(Rejection.BAD_DTMF, brief(digit, 8))
    return Dtmf(stream_sid=_sid(data, "streamSid"), digit=digit)


def parse(text: str | bytes) -> InboundMessage | None:
    """Parse one inbound frame. Returns None for event types we do not use.

    Raises `FrameRejected` for anything malformed (not JSON, nested too deep for the
    decoder, missing fields, bad base64).
    """
    try:
        data = json.loads(text)
    except RecursionError:
        raise FrameRejected(Rejection.TOO_DEEP) from None
    except (ValueError, UnicodeDecodeError):  # includes integers of thousands of digits
        raise FrameRejected(Rejection.NOT_JSON) from None
    if not isinstance(data, dict):
        raise FrameRejected(Rejection.NOT_OBJECT)
    event = data.get("event")
    if event == "media":
        return _parse_media(data)
    if event == "start":
        return _parse_start(data)
    if event == "mark":
        return Mark(stream_sid=_sid(data, "streamSid"), name=_str(_obj(data, "mark"), "name"))
    if event == "dtmf":
        return _parse_dtmf(data)
    if event == "stop":
        stop = data.get("stop")
        call_sid = stop.get("callSid", "") if isinstance(stop, Mapping) else ""
        call_sid = call_sid if isinstance(call_sid, str) else ""
        return Stop(stream_sid=_sid(data, "streamSid"), call_sid=call_sid[:MAX_SID_CHARS])
    if event == "connected":
        protocol = data.get("protocol", "")
        return Connected(protocol=protocol[:32] if isinstance(protocol, str) else "")
    if not isinstance(event, str):
        raise FrameRejected(Rejection.NO_EVENT)
    return None


def media_message(stream_sid: str, mulaw: bytes) -> str:
    """Outbound ``media``: base64 raw mu-law, no file header."""
    payload = base64.b64encode(mulaw).decode("ascii")
    sid = json.dumps(stream_sid)
    return f'{{"event":"media","streamSid":{sid},"media":{{"payload":"{payload}"}}}}'


def mark_message(stream_sid: str, name: str) -> str:
    """Outbound ``mark``: Twilio echoes it when playback reaches this point."""
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear_message(stream_sid: str) -> str:
    """Outbound ``clear``: drop all buffered audio (pending marks are echoed at once)."""
    return json.dumps({"event": "clear", "streamSid": stream_sid})
