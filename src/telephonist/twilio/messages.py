"""Twilio Media Streams messages: inbound frames parsed into frozen dataclasses, outbound
messages serialised to JSON text. Wire facts: Twilio's websocket-messages reference (all
frames are JSON text; numeric-looking fields arrive as strings).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from telephonist.errors import ProtocolError

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


def _obj(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise ProtocolError(f"'{key}' must be an object")
    return value


def _str(data: Mapping[str, Any], key: str, *, where: str = "", default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ProtocolError(f"'{where}{key}' must be a string")
    return value


def _parse_start(data: Mapping[str, Any]) -> Start:
    start = _obj(data, "start")
    params = start.get("customParameters") or {}
    if not isinstance(params, Mapping) or not all(isinstance(v, str) for v in params.values()):
        raise ProtocolError("'start.customParameters' must be an object of strings")
    fmt = start.get("mediaFormat") or {}
    if not isinstance(fmt, Mapping):
        raise ProtocolError("'start.mediaFormat' must be an object")
    encoding = fmt.get("encoding", "audio/x-mulaw")
    rate = fmt.get("sampleRate", 8000)
    if encoding != "audio/x-mulaw" or rate != 8000:
        raise ProtocolError(f"unsupported media format {encoding!r} at {rate!r} Hz")
    stream_sid = _str(start, "streamSid", where="start.", default=data.get("streamSid"))
    return Start(
        stream_sid=stream_sid,
        call_sid=_str(start, "callSid", where="start."),
        account_sid=_str(start, "accountSid", where="start.", default=""),
        custom_parameters=dict(params),
    )


def _parse_media(data: Mapping[str, Any]) -> Media:
    media = _obj(data, "media")
    try:
        payload = base64.b64decode(_str(media, "payload", where="media."), validate=True)
    except binascii.Error as exc:
        raise ProtocolError("'media.payload' is not valid base64") from exc
    timestamp = media.get("timestamp")
    return Media(
        stream_sid=_str(data, "streamSid"),
        payload=payload,
        timestamp_ms=int(timestamp) if isinstance(timestamp, str) and timestamp.isdigit() else None,
    )


def _parse_dtmf(data: Mapping[str, Any]) -> Dtmf:
    digit = _str(_obj(data, "dtmf"), "digit", where="dtmf.")
    if len(digit) != 1 or digit not in _DTMF_DIGITS:
        raise ProtocolError(f"'dtmf.digit' {digit[:8]!r} is not a DTMF digit")
    return Dtmf(stream_sid=_str(data, "streamSid"), digit=digit)


def parse(text: str | bytes) -> InboundMessage | None:
    """Parse one inbound frame. Returns None for event types we do not use.

    Raises `ProtocolError` for anything malformed (not JSON, missing fields, bad base64).
    """
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError("frame is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ProtocolError("frame is not a JSON object")
    event = data.get("event")
    if event == "media":
        return _parse_media(data)
    if event == "start":
        return _parse_start(data)
    if event == "mark":
        return Mark(stream_sid=_str(data, "streamSid"), name=_str(_obj(data, "mark"), "name"))
    if event == "dtmf":
        return _parse_dtmf(data)
    if event == "stop":
        stop = data.get("stop")
        call_sid = stop.get("callSid", "") if isinstance(stop, Mapping) else ""
        return Stop(stream_sid=_str(data, "streamSid"), call_sid=str(call_sid))
    if event == "connected":
        return Connected(protocol=str(data.get("protocol", "")))
    if not isinstance(event, str):
        raise ProtocolError("frame has no 'event'")
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
