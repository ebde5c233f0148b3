"""The ``limits:`` block of ``twilio_media_streams``: what one server process will hold.

Each limit bounds what a caller (or anyone who can reach the port) can make the process keep:
connections, calls, time before a request or a stream's ``start`` arrives, and the rate of
caller audio. Values are checked at start-up; errors name the key, never echo the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from telephonist.errors import ConfigError

__all__ = ["Limits", "parse_limits"]

PREFIX = "twilio_media_streams.limits"


@dataclass(frozen=True)
class Limits:
    """Per-process limits (defaults measured on a 2-core machine; see README, Security)."""

    max_calls: int = 200
    """Calls in progress or answered and connecting; beyond, the webhook answers 503 (as a
    draining server does), so Twilio tries the number's fallback URL."""
    max_connections: int = 1000
    """Open TCP connections (HTTP and websockets); beyond, a new one is closed at once."""
    request_timeout: float = 10.0
    """Seconds a connection may take to send a whole request (line, headers, body), from
    connecting or from the end of its previous response."""
    start_timeout: float = 5.0
    """Seconds after the websocket upgrade for the stream's ``start`` (Twilio sends it at
    once); a socket still without one is closed."""
    media_rate: float = 5.0
    """Caller audio a stream may send, as a multiple of real time, once its burst is spent;
    beyond, frames are dropped. Twilio sends in real time; ``telephonist call --speed 5`` and
    the tests run up to five times faster. Each multiple costs VAD and ASR work that other
    calls share (``benchmarks/flood.py``)."""
    media_burst: float = 10.0
    """Seconds of caller audio a stream may send ahead of ``media_rate`` (a backlog after a
    network stall; a test sending a few seconds at once)."""


_INTS = {"max_calls", "max_connections"}


def parse_limits(block: Any, *, file: str) -> Limits:
    """Validate ``limits:`` (absent or null: the defaults)."""
    if block is None:
        return Limits()
    if not isinstance(block, Mapping):
        raise ConfigError("must be a mapping", file=file, key=PREFIX)
    known = {f.name for f in fields(Limits)}
    values: dict[str, Any] = {}
    for key, value in block.items():
        if key not in known:
            allowed = ", ".join(sorted(known))
            raise ConfigError(f"unknown key (allowed: {allowed})", file=file, key=f"{PREFIX}.{key}")
        values[str(key)] = _positive(value, integer=key in _INTS, file=file, key=str(key))
    return Limits(**values)


def _positive(value: Any, *, integer: bool, file: str, key: str) -> float | int:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or (integer and not isinstance(value, int)) or not value > 0:  # NaN too
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"must be {kind} greater than 0", file=file, key=f"{PREFIX}.{key}")
    return value if integer else float(value)
