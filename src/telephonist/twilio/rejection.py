"""Why an inbound frame was refused: a closed set of reasons.

A reason is safe to use as a metric label or a log key because callers cannot add to the
set; what they sent appears in messages only through `brief`, cut short.
"""

from __future__ import annotations

import enum

from telephonist.errors import ProtocolError

__all__ = ["FrameRejected", "Rejection", "brief"]


class Rejection(enum.Enum):
    """The reasons a frame from the caller's side is refused."""

    NOT_JSON = "not JSON"
    TOO_DEEP = "JSON nested too deep"
    NOT_OBJECT = "not a JSON object"
    NO_EVENT = "no event"
    BAD_FIELD = "missing or malformed field"
    BAD_BASE64 = "bad base64"
    BAD_DTMF = "bad DTMF digit"
    BAD_FORMAT = "unsupported media format"
    OVERSIZED = "oversized frame"
    BINARY = "binary frame"
    BEFORE_START = "frame before start"
    AFTER_STOP = "frame after stop"
    SECOND_START = "second start on one stream"
    FOREIGN_STREAM = "frame for another streamSid"
    OVER_RATE = "media faster than real time"


class FrameRejected(ProtocolError):
    """A frame broke the Media Streams protocol; ``reason`` says how."""

    def __init__(self, reason: Rejection, detail: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)


def brief(value: object, limit: int = 24) -> str:
    """Caller input for a message: a string cut to ``limit`` characters, a number as is,
    anything else by its type only (a nested structure is never rendered)."""
    if isinstance(value, str):
        return repr(value[:limit]) + ("…" if len(value) > limit else "")
    if isinstance(value, bool | int | float) or value is None:
        text = repr(value)
        return text if len(text) <= limit else text[:limit] + "…"
    return f"<{type(value).__name__}>"
