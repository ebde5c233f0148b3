"""Ending or transferring a call: through Twilio's REST API when account credentials are
configured, else (hang-up only) by closing the stream, which ends ``<Connect>`` and the call.
Either is said first to ``on_purpose``, so a redirect Twilio may follow afterwards (a resume)
is answered ``<Hangup/>`` wherever it lands."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from telephonist.call.events import BotHungUp, CallEvent, ErrorReported, Transferred
from telephonist.call.transport import CallControl, Transport
from telephonist.errors import ProviderError

__all__ = ["Line"]


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

    async def hang_up(self) -> None:
        """End the call; a failed REST request still closes the stream."""
        self._emit(BotHungUp(via="rest" if self._control else "socket"))
        if self._on_purpose is not None:
            await self._on_purpose("bot hung up")
        if self._control is not None:
            try:
                await self._control.hang_up(self._call_id)
            except ProviderError as exc:
                self._emit(
                    ErrorReported(source="twilio", message=str(exc), retryable=exc.retryable)
                )
        with contextlib.suppress(Exception):
            await self._transport.close()

    async def transfer(self, number: str) -> bool:
        """Transfer to ``number``; False when transfers are not possible (no credentials)."""
        if self._control is None:
            self._emit(
                ErrorReported(
                    source="session",
                    message="transfer needs twilio_account_sid and an auth token; "
                    "hanging up instead",
                )
            )
            return False
        self._emit(Transferred(to=number))
        if self._on_purpose is not None:
            await self._on_purpose("transferred")
        try:
            await self._control.transfer(self._call_id, number)
        except ProviderError as exc:
            self._emit(ErrorReported(source="twilio", message=str(exc), retryable=exc.retryable))
        return True
