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
logged and the call goes on (as with stream claims).
"""

from __future__ import annotations

import asyncio
import logging

from telephonist.config.resume import ResumeSettings
from telephonist.stores.base import Ledger
from telephonist.twilio.resume import ResumeMarkers
from telephonist.twilio.token import STREAMED_CALL_MEMORY_S

__all__ = ["LEDGER_TIMEOUT_S", "Resumes"]

log = logging.getLogger(__name__)

LEDGER_TIMEOUT_S = 2.0
"""How long a decision waits for the shared store."""
RESUMED = "resumed"
NEVER_STARTED = "never started"
UNKNOWN = "\x00unknown"
"""What `Resumes._record` answers when the store cannot: the call is let through."""


def start_key(call_sid: str, stream: int) -> str:
    """The record of a stream's start."""
    return f"start:{call_sid}:{stream}"


class Resumes:
    """The resume decisions of one server process."""

    def __init__(self, settings: ResumeSettings, secret: bytes, ledger: Ledger) -> None:
        self.settings = settings
        self.markers = ResumeMarkers(secret)
        self.ledger = ledger

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
        started = await self._record(call_sid, start_key(call_sid, stream), NEVER_STARTED)
        if started is None:
            return "the stream never started"
        if started not in (nonce, UNKNOWN):
            return "another stream of the call started"
        ended = await self._record(call_sid, f"end:{call_sid}:{stream}", RESUMED)
        if ended == RESUMED:
            return "the stream was resumed already (a replayed redirect)"
        if ended is not None and ended != UNKNOWN:
            return f"the server ended the stream on purpose ({ended})"
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
        redirect that follows is hung up on any instance."""
        await self._record(call_sid, f"end:{call_sid}:{stream}", reason)

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
