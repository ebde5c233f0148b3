"""The replay rule on every instance: Twilio asks the voice webhook once per call and retries
only when no TwiML reached it, before any stream; so a webhook for a call whose stream has
started is a replay, whichever instance it lands on.

A stream's start is recorded in the store's `Ledger` as ``start:<CallSid>:<n>`` (with resume
on, ``server.resume`` writes it for every stream; without, `record_start` writes stream 0's).
Behind a load balancer the instances share that ledger (Redis, PostgreSQL), so the webhook
reads it there. A store that cannot answer within `LEDGER_TIMEOUT_S` does not stop a call:
it is logged and the webhook goes on (the stream's own claim still refuses a second stream).
"""

from __future__ import annotations

import asyncio
import logging

from telephonist.server.resume import LEDGER_TIMEOUT_S, start_key
from telephonist.stores.base import Ledger
from telephonist.twilio.token import STREAMED_CALL_MEMORY_S

__all__ = ["record_start", "started_anywhere"]

log = logging.getLogger(__name__)


async def record_start(ledger: Ledger, call_sid: str, nonce: str) -> None:
    """Record that the call's first stream starts (with the token ``nonce``), for the
    instances that answer its replayed webhooks."""
    try:
        async with asyncio.timeout(LEDGER_TIMEOUT_S):
            await asyncio.to_thread(
                ledger.record_once, start_key(call_sid, 0), nonce, STREAMED_CALL_MEMORY_S
            )
    except Exception as exc:  # any store failure (or timeout): log it, the call goes on
        log.warning(
            "replay.ledger_unavailable: %s", type(exc).__name__, extra={"call_id": call_sid}
        )


async def started_anywhere(ledger: Ledger, call_sid: str) -> bool:
    """Whether the call's first stream started on any instance sharing ``ledger`` (False,
    logged, when the store cannot say in time)."""
    try:
        async with asyncio.timeout(LEDGER_TIMEOUT_S):
            first = await asyncio.to_thread(ledger.read, start_key(call_sid, 0))
    except Exception as exc:
        log.warning(
            "replay.ledger_unavailable: %s", type(exc).__name__, extra={"call_id": call_sid}
        )
        return False
    return first is not None
