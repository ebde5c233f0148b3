"""One-time stream tokens: the webhook issues one per call inside the TwiML, and the
websocket accepts a ``start`` only with a valid, unused, unexpired token for that CallSid.

Tokens are HMAC-signed (CallSid, expiry, nonce), so any instance sharing the secret can check
them; "unused" is tracked per process until the token expires. A call streams once: after a
token of a CallSid is redeemed, no other token for it is (a webhook retried before the stream
started gets a second token; whichever stream comes first wins), and the CallSid is remembered
for `STREAMED_CALL_MEMORY_S` so a replayed webhook can be told apart from a first one.
Pure: the clock is injected.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable

__all__ = ["STREAMED_CALL_MEMORY_S", "StreamTokens"]

STREAMED_CALL_MEMORY_S = 24 * 3600.0
"""How long a call that streamed is remembered (Twilio's longest call is 24 hours)."""
MAX_REMEMBERED_CALLS = 100_000
"""Beyond this many (a few MB), the oldest calls are forgotten first."""


class StreamTokens:
    """Issues and redeems stream tokens."""

    def __init__(self, secret: bytes, ttl_seconds: float, now: Callable[[], float]) -> None:
        self._secret = secret
        self._ttl = ttl_seconds
        self._now = now
        self._used: dict[str, float] = {}
        self._issued: dict[str, float] = {}
        self._streamed: dict[str, float] = {}

    def issue(self, call_sid: str) -> str:
        """A token for ``call_sid``, valid for the TTL."""
        expiry = int(self._now() + self._ttl)
        nonce = secrets.token_urlsafe(12)
        self.pending()  # forget the expired ones
        self._issued[call_sid] = expiry
        body = f"{expiry}.{nonce}"
        return f"{body}.{self._sign(call_sid, body)}"

    def redeem(self, call_sid: str, token: str) -> str | None:
        """Consume ``token`` for ``call_sid``. Returns None if accepted, else the reason."""
        parts = token.split(".")
        if len(parts) != 3 or not parts[0].isdigit():
            return "malformed stream token"
        body = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(parts[2], self._sign(call_sid, body)):
            return "stream token does not match this call"
        now = self._now()
        if int(parts[0]) < now:
            return "stream token expired"
        self._used = {n: exp for n, exp in self._used.items() if exp >= now}
        if parts[1] in self._used:
            return "stream token already used"
        if self.streamed(call_sid):
            return "this call already streamed"
        self._used[parts[1]] = float(parts[0])
        self._issued.pop(call_sid, None)
        self._streamed[call_sid] = now
        if len(self._streamed) > MAX_REMEMBERED_CALLS:
            del self._streamed[next(iter(self._streamed))]
        return None

    def streamed(self, call_sid: str) -> bool:
        """True once a token of ``call_sid`` was redeemed here (its stream is live or over)."""
        at = self._streamed.get(call_sid)
        if at is None:
            return False
        if at + STREAMED_CALL_MEMORY_S >= self._now():
            return True
        del self._streamed[call_sid]
        return False

    def pending(self) -> int:
        """Calls this process answered whose stream has neither arrived here nor outlived
        its token: calls that may still connect (a graceful shutdown waits for them)."""
        now = self._now()
        self._issued = {n: exp for n, exp in self._issued.items() if exp >= now}
        return len(self._issued)

    def _sign(self, call_sid: str, body: str) -> str:
        digest = hmac.new(self._secret, f"{call_sid}.{body}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode("ascii")

    def __repr__(self) -> str:
        return f"StreamTokens(ttl_seconds={self._ttl}, secret=<redacted>)"
