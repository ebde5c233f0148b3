"""Ending or transferring a call: through Twilio's REST API when account credentials are
configured, else (hang-up only) by closing the stream, which ends ``<Connect>`` and the call.
Either is said first to ``on_purpose``, so a redirect Twilio may follow afterwards (a resume)
is answered ``<Hangup/>`` wherever it lands; a hang-up as soon as it is known (`decided`),
not only once the goodbye has played (without holding the goodbye up)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Literal

from telephonist.call.events import BotHungUp, CallEvent, ErrorReported, Transferred
from telephonist.call.transport import CallControl, Transport
from telephonist.errors import ProviderError

__all__ = ["Line", "TransferOutcome"]

TransferOutcome = Literal["done", "refused", "impossible"]


class Line:
    """The call's connection to the phone network, as far as the session controls it."""

    def __init__(
        self,
        call_id: str,
        transport: Transport,
        control: CallControl | None,
        emit: Callable[[CallEvent], None],
        on_purpose: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._call_id = call_id
        self._transport = transport
        self._control = control
        self._emit = emit
        self._on_purpose = on_purpose
        self._deciding: asyncio.Future[None] | None = None

    def decided(self, reason: str = "bot hung up") -> None:
        """The call will end after what is playing: start saying so to ``on_purpose`` now,
        so a stream lost meanwhile is not resumed (the hang-up waits for it)."""
        if self._on_purpose is not None and self._deciding is None:
            self._deciding = asyncio.ensure_future(self._on_purpose(reason))

    async def _said(self, reason: str = "bot hung up") -> None:
        """``on_purpose`` has the end (the first reason said wins there)."""
        self.decided(reason)
        if self._deciding is not None:
            await asyncio.shield(self._deciding)

    async def hang_up(self) -> None:
        """End the call; a failed REST request still closes the stream."""
        self._emit(BotHungUp(via="rest" if self._control else "socket"))
        await self._said()
        if self._control is not None:
            try:
                await self._control.hang_up(self._call_id)
            except ProviderError as exc:
                self._emit(
                    ErrorReported(source="twilio", message=str(exc), retryable=exc.retryable)
                )
        with contextlib.suppress(Exception):
            await self._transport.close()

    async def transfer(self, number: str) -> TransferOutcome:
        """Transfer to ``number``: ``done`` once Twilio took the new TwiML, ``refused`` when it
        did not (the call stays with the bot), ``impossible`` without credentials (the call is
        then hung up, which is decided here)."""
        if self._control is None:
            await self._said()
            self._emit(
                ErrorReported(
                    source="session",
                    message="transfer needs twilio_account_sid and an auth token; "
                    "hanging up instead",
                )
            )
            return "impossible"
        if self._on_purpose is not None:
            await self._on_purpose("transferred")
        try:
            await self._control.transfer(self._call_id, number)
        except ProviderError as exc:  # the call stays with the bot; it was not transferred
            self._emit(ErrorReported(source="twilio", message=str(exc), retryable=exc.retryable))
            return "refused"
        self._emit(Transferred(to=number))
        return "done"
