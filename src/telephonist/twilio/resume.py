"""Resume markers: what makes a ``<Redirect>`` back to the webhook a resume of a call.

The TwiML that connects stream ``n`` of a call continues with a ``<Redirect>`` to
``webhook?resume=<marker>``; Twilio follows it when that stream closes. The marker names the
stream (``n``) and the nonce of the stream token in the same TwiML, and is HMAC-signed with
(a key derived from) the stream-token secret over the CallSid, so any instance sharing the
secret knows the redirect is ours, for that call, that stream and that token: the TwiML of a
replayed webhook names a token that never started, and its redirect resumes nothing. Pure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["RESUME_QUERY", "ResumeMarkers"]

RESUME_QUERY = "resume"
"""The query parameter of the redirect URL that carries the marker."""
MAX_STREAMS = 1000
"""No call has more streams than this (a marker naming more is malformed)."""


class ResumeMarkers:
    """Signs and reads resume markers with one secret."""

    def __init__(self, secret: bytes) -> None:
        # A key of its own, so no stream token's signature can ever pass for a marker.
        self._key = hmac.new(secret, b"telephonist resume markers", hashlib.sha256).digest()

    def marker(self, call_sid: str, stream: int, nonce: str) -> str:
        """The marker of stream ``stream`` (0 = the first) of ``call_sid``, connected with
        the token whose nonce is ``nonce``."""
        return f"{stream}.{nonce}.{self._sign(call_sid, stream, nonce)}"

    def redirect_url(self, call_sid: str, stream: int, nonce: str) -> str:
        """The ``<Redirect>`` URL, relative to the webhook's own URL, so Twilio keeps the
        scheme, host, any path prefix and Basic-auth credentials it called the webhook with."""
        return f"webhook?{RESUME_QUERY}={self.marker(call_sid, stream, nonce)}"

    def read(self, call_sid: str, marker: str) -> tuple[int, str] | None:
        """The stream and token nonce a marker names, if it is ours and for ``call_sid``."""
        parts = marker.split(".")
        if len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) > 4:
            return None
        stream, nonce = int(parts[0]), parts[1]
        if stream >= MAX_STREAMS or not nonce:
            return None
        if not hmac.compare_digest(parts[2], self._sign(call_sid, stream, nonce)):
            return None
        return stream, nonce

    def _sign(self, call_sid: str, stream: int, nonce: str) -> str:
        message = f"{call_sid}.{stream}.{nonce}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode("ascii")

    def __repr__(self) -> str:
        return "ResumeMarkers(secret=<redacted>)"
