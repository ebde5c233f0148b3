"""Resuming a call after a lost media stream, decided in the store every instance shares.

Each stream of a call is numbered (0 = the first). Its TwiML ends with a ``<Redirect>`` back
to the webhook carrying a signed marker (``twilio.resume``) for that stream and its token, so
Twilio asks again whenever the stream closes. Two records in the shared `Ledger` decide what
the redirect gets, on whichever instance it lands:

* ``start:<CallSid>:<n>`` is written with the token's nonce when stream ``n`` starts. A
  redirect for a stream that never started (refused, no ``start`` in time, hostile input) or
  that another token started, gets ``<Hangup/>``.
* ``end:<CallSid>:<n>`` is written once: with the reason when the server ends the stream on
  purpose (bot hang-up, transfer, caller hang-up, internal error, drain timeout, shutdown),
  *before* the socket closes; or with ``resumed`` by the redirect that resumes it. So a
  stream lost without the server deciding it (a crash, a network drop) is resumed exactly
  once, and every other redirect, replays included, gets ``<Hangup/>``.

A call gets at most ``resume.max_per_call`` new streams: the last one's TwiML has no redirect.
A store that cannot answer within `LEDGER_TIMEOUT_S` does not stop a call: the decision is
logged and the call goes on (as with stream claims). So that an outage does not resume what
this process ended on purpose, each process also remembers the ends it recorded (and the
resumes it granted) for a while, and asks that memory before the store: the instance that
ended a stream hangs up its redirect whatever the store says; a redirect landing elsewhere
during the outage is still let through, since a lost call is worse than a resumed one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from telephonist.config.resume import ResumeSettings
from telephonist.stores.base import Ledger
from telephonist.twilio.resume import ResumeMarkers
from telephonist.twilio.token import STREAMED_CALL_MEMORY_S

__all__ = ["LEDGER_TIMEOUT_S", "LOCAL_ENDS", "LOCAL_END_TTL_S", "RecentEnds", "Resumes"]

log = logging.getLogger(__name__)

LEDGER_TIMEOUT_S = 2.0
"""How long a decision waits for the shared store."""
RESUMED = "resumed"
NEVER_STARTED = "never started"
UNKNOWN = "\x00unknown"
"""What `Resumes._record` answers when the store cannot: the call is let through."""
LOCAL_ENDS = 10_000
"""How many stream ends one process remembers itself (the oldest are forgotten first)."""
LOCAL_END_TTL_S = 600.0
"""How long it remembers one: Twilio follows a redirect within seconds of the close."""


def start_key(call_sid: str, stream: int) -> str:
    """The record of a stream's start."""
    return f"start:{call_sid}:{stream}"


def end_key(call_sid: str, stream: int) -> str:
    """The record of a stream's end."""
    return f"end:{call_sid}:{stream}"


class RecentEnds:
    """A bounded, expiring memory of this process's end records: the first value per key
    wins, as in the `Ledger`, so it never contradicts what the store was told."""

    def __init__(
        self,
        size: int = LOCAL_ENDS,
        ttl: float = LOCAL_END_TTL_S,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._size, self._ttl, self._now = size, ttl, now
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()  # oldest first

    def add(self, key: str, value: str) -> None:
        """Remember ``value`` under ``key`` unless something is remembered there already."""
        now = self._now()
        while self._items and (
            len(self._items) >= self._size or next(iter(self._items.values()))[0] <= now
        ):
            self._items.popitem(last=False)
        self._items.setdefault(key, (now + self._ttl, value))

    def get(self, key: str) -> str | None:
        """The value remembered under ``key``, if it has not expired."""
        item = self._items.get(key)
        return item[1] if item is not None and item[0] > self._now() else None

    def __len__(self) -> int:
        return len(self._items)


class Resumes:
    """The resume decisions of one server process."""

    def __init__(self, settings: ResumeSettings, secret: bytes, ledger: Ledger) -> None:
        self.settings = settings
        self.markers = ResumeMarkers(secret)
        self.ledger = ledger
        self.local = RecentEnds()

    def redirect(self, call_sid: str, stream: int, nonce: str) -> str | None:
        """The ``<Redirect>`` URL to put after stream ``stream``'s ``<Connect>`` (None once the
        call has had all its resumes: nothing follows, so a lost stream ends the call)."""
        if stream >= self.settings.max_per_call:
            return None
        return self.markers.redirect_url(call_sid, stream, nonce)

    async def take(self, call_sid: str, stream: int, nonce: str) -> str | None:
        """Decide the redirect that followed stream ``stream``: None to resume the call with
        the next stream, else why it is hung up."""
        if stream >= self.settings.max_per_call:
            return f"the call has had its {self.settings.max_per_call} resumes"
        key = end_key(call_sid, stream)
        ended = self.local.get(key)  # what this process decided needs no store
        if ended is None:
            started = await self._record(call_sid, start_key(call_sid, stream), NEVER_STARTED)
            if started is None:
                return "the stream never started"
            if started not in (nonce, UNKNOWN):
                return "another stream of the call started"
            ended = await self._record(call_sid, key, RESUMED)
        if ended == RESUMED:
            return "the stream was resumed already (a replayed redirect)"
        if ended is not None and ended != UNKNOWN:
            return f"the server ended the stream on purpose ({ended})"
        self.local.add(key, RESUMED)  # a replay reaching this process is hung up, store or not
        return None

    async def started(self, call_sid: str, stream: int, nonce: str) -> str | None:
        """Record that stream ``stream`` starts with the token ``nonce``: None when it may,
        else why not (it started already, here or elsewhere, or its redirect came first)."""
        first = await self._record(call_sid, start_key(call_sid, stream), nonce)
        if first is None or first in (nonce, UNKNOWN):
            return None
        if first == NEVER_STARTED:
            return "the stream's redirect came first; the call has moved on"
        return "this stream already started on another instance"

    async def ended(self, call_sid: str, stream: int, reason: str) -> None:
        """Record that the server ends stream ``stream`` on purpose (before closing it), so a
        redirect that follows is hung up on any instance (on this one even if the store
        cannot be told)."""
        key = end_key(call_sid, stream)
        self.local.add(key, reason)
        await self._record(call_sid, key, reason)

    async def _record(self, call_sid: str, key: str, value: str) -> str | None:
        """`Ledger.record_once` in a worker thread; `UNKNOWN` (logged) when the store fails or
        is slow."""
        try:
            async with asyncio.timeout(LEDGER_TIMEOUT_S):
                return await asyncio.to_thread(
                    self.ledger.record_once, key, value, STREAMED_CALL_MEMORY_S
                )
        except Exception as exc:
            log.warning(
                "resume.ledger_unavailable: %s", type(exc).__name__, extra={"call_id": call_sid}
            )
            return UNKNOWN
