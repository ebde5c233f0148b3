"""One-time stream tokens: the webhook issues one per call inside the TwiML, and the
websocket accepts a ``start`` only with a valid, unused, unexpired token for that CallSid.

Tokens are HMAC-signed (CallSid, expiry, nonce, and for a resumed call the stream's number),
so any instance sharing the secret can check them; "unused" is tracked per process until the
token expires. Each stream of a call starts once: after a token of a CallSid is redeemed, no
other token for that stream or an earlier one is (a webhook retried before the stream started
gets a second token; whichever stream comes first wins), and the CallSid is remembered for
`STREAMED_CALL_MEMORY_S` so a replayed webhook can be told apart from a first one. Stream 0 is
the call's first; a resume (``twilio.resume``) issues a token for the next one.
Pure: the clock is injected.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable

__all__ = ["STREAMED_CALL_MEMORY_S", "StreamTokens", "claim_key"]

STREAMED_CALL_MEMORY_S = 24 * 3600.0
"""How long a call that streamed is remembered (Twilio's longest call is 24 hours)."""
MAX_REMEMBERED_CALLS = 100_000
"""Beyond this many (a few MB), the oldest calls are forgotten first."""


def claim_key(call_sid: str, stream: int) -> str:
    """The key under which a call's stream ``stream`` is claimed in a shared store (one
    start per stream across instances and workers)."""
    return f"stream:{call_sid}" if stream == 0 else f"stream:{call_sid}:{stream}"


class StreamTokens:
    """Issues and redeems stream tokens."""

    def __init__(self, secret: bytes, ttl_seconds: float, now: Callable[[], float]) -> None:
        self._secret = secret
        self._ttl = ttl_seconds
        self._now = now
        self._used: dict[str, float] = {}
        self._issued: dict[str, tuple[float, int]] = {}
        """Calls answered here whose stream has not started here: (expiry, stream)."""
        self._streamed: dict[str, tuple[float, int]] = {}

    def issue(self, call_sid: str, stream: int = 0) -> str:
        """A token for stream ``stream`` of ``call_sid`` (0: its first), valid for the TTL."""
        expiry = int(self._now() + self._ttl)
        nonce = secrets.token_urlsafe(12)
        self.pending()  # forget the expired ones
        self._issued[call_sid] = (expiry, stream)
        body = f"{expiry}.{nonce}" if stream == 0 else f"{expiry}.{nonce}.{stream}"
        return f"{body}.{self._sign(call_sid, body)}"

    @staticmethod
    def stream_of(token: str) -> int:
        """The stream a well-formed token was issued for (0 for a call's first)."""
        parts = token.split(".")
        return int(parts[2]) if len(parts) == 4 and parts[2].isdigit() else 0

    @staticmethod
    def nonce_of(token: str) -> str:
        """The token's nonce: what names it in the shared ledger and in resume markers."""
        parts = token.split(".")
        return parts[1] if len(parts) > 1 else ""

    def redeem(self, call_sid: str, token: str) -> str | None:
        """Consume ``token`` for ``call_sid``. Returns None if accepted, else the reason."""
        parts = token.split(".")
        if len(parts) not in (3, 4) or not parts[0].isdigit():
            return "malformed stream token"
        if len(parts) == 4 and not (parts[2].isdigit() and len(parts[2]) <= 4):
            return "malformed stream token"
        body = ".".join(parts[:-1])
        if not hmac.compare_digest(parts[-1], self._sign(call_sid, body)):
            return "stream token does not match this call"
        now = self._now()
        if int(parts[0]) < now:
            return "stream token expired"
        self._used = {n: exp for n, exp in self._used.items() if exp >= now}
        if parts[1] in self._used:
            return "stream token already used"
        stream = self.stream_of(token)
        latest = self.latest_stream(call_sid)
        if latest is not None and latest >= stream:
            return "this call already streamed" if stream == 0 else "this stream already started"
        self._used[parts[1]] = float(parts[0])
        self._issued.pop(call_sid, None)
        self._streamed.pop(call_sid, None)  # re-inserted last: the dict stays oldest first
        self._streamed[call_sid] = (now, stream)
        if len(self._streamed) > MAX_REMEMBERED_CALLS:
            del self._streamed[next(iter(self._streamed))]
        return None

    def streamed(self, call_sid: str) -> bool:
        """True once a token of ``call_sid`` was redeemed here (its stream is live or over)."""
        return self.latest_stream(call_sid) is not None

    def latest_stream(self, call_sid: str) -> int | None:
        """The latest stream of ``call_sid`` started here, if any."""
        seen = self._streamed.get(call_sid)
        if seen is None:
            return None
        if seen[0] + STREAMED_CALL_MEMORY_S >= self._now():
            return seen[1]
        del self._streamed[call_sid]
        return None

    def pending(self) -> int:
        """Calls this process answered whose stream has neither arrived here nor outlived
        its token: calls that may still connect (a graceful shutdown waits for them)."""
        now = self._now()
        self._issued = {n: issued for n, issued in self._issued.items() if issued[0] >= now}
        return len(self._issued)

    def pending_streams(self) -> list[tuple[str, int]]:
        """The calls counted by `pending`, each with the stream it waits for."""
        self.pending()
        return [(call_sid, stream) for call_sid, (_, stream) in self._issued.items()]

    def forget(self, call_sid: str) -> None:
        """Stop counting ``call_sid`` as pending (its stream started on another instance or
        worker)."""
        self._issued.pop(call_sid, None)

    def _sign(self, call_sid: str, body: str) -> str:
        digest = hmac.new(self._secret, f"{call_sid}.{body}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode("ascii")

    def __repr__(self) -> str:
        return f"StreamTokens(ttl_seconds={self._ttl}, secret=<redacted>)"
