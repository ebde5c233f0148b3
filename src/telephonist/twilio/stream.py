"""The Media Streams protocol as a sans-I/O object, one per websocket.

Feed it each inbound frame with `receive`; it checks the frame against the stream's state
(``start`` first and once, the right ``streamSid``, a size cap) and returns the parsed
message. Ask it for outbound frames with `media`, `mark` and `clear`. It knows no sockets and
no clock. Anything a caller may not send raises `FrameRejected` (a `ProtocolError` with a
reason from a closed set); the server decides whether that ends the call (it never does for
one bad frame).
"""

from __future__ import annotations

import enum
import itertools

from telephonist.errors import ProtocolError
from telephonist.twilio import messages
from telephonist.twilio.messages import InboundMessage, Start, Stop
from telephonist.twilio.rejection import FrameRejected, Rejection

__all__ = ["MediaStream", "StreamState"]

MAX_MESSAGE_BYTES = 16 * 1024
"""A 20 ms inbound frame is ~300 bytes; nothing legitimate comes close to this."""


class StreamState(enum.Enum):
    """Where the stream is in its life."""

    AWAITING_START = "awaiting_start"
    STREAMING = "streaming"
    STOPPED = "stopped"


class MediaStream:
    """Protocol state for one Twilio bidirectional stream."""

    def __init__(self, *, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.state = StreamState.AWAITING_START
        self.start: Start | None = None
        self._max_message_bytes = max_message_bytes
        self._mark_ids = itertools.count(1)

    @property
    def stream_sid(self) -> str:
        """The streamSid from ``start`` (empty before it)."""
        return self.start.stream_sid if self.start else ""

    def receive(self, text: str) -> InboundMessage | None:
        """Parse and check one inbound text frame; None for frames that carry nothing for us."""
        if len(text) > self._max_message_bytes:
            raise FrameRejected(
                Rejection.OVERSIZED, f"{len(text)} bytes exceeds {self._max_message_bytes}"
            )
        if self.state is StreamState.STOPPED:
            raise FrameRejected(Rejection.AFTER_STOP)
        message = messages.parse(text)
        if isinstance(message, Start):
            if self.state is not StreamState.AWAITING_START:
                raise FrameRejected(Rejection.SECOND_START)
            self.start = message
            self.state = StreamState.STREAMING
            return message
        if message is None or isinstance(message, messages.Connected):
            return message
        if self.state is StreamState.AWAITING_START:
            raise FrameRejected(Rejection.BEFORE_START, type(message).__name__.lower())
        if message.stream_sid != self.stream_sid:
            raise FrameRejected(Rejection.FOREIGN_STREAM)
        if isinstance(message, Stop):
            self.state = StreamState.STOPPED
        return message

    def media(self, mulaw: bytes) -> str:
        """An outbound ``media`` frame with ``mulaw`` audio."""
        self._require_streaming()
        return messages.media_message(self.stream_sid, mulaw)

    def mark(self) -> tuple[str, str]:
        """A fresh mark name and the outbound ``mark`` frame carrying it."""
        self._require_streaming()
        name = f"m{next(self._mark_ids)}"
        return name, messages.mark_message(self.stream_sid, name)

    def clear(self) -> str:
        """An outbound ``clear`` frame."""
        self._require_streaming()
        return messages.clear_message(self.stream_sid)

    def _require_streaming(self) -> None:
        if self.state is not StreamState.STREAMING:
            raise ProtocolError(f"cannot send while {self.state.value}")
