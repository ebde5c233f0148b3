"""The call's connection to Twilio, as the session sees it: text frames out, and close."""

from __future__ import annotations

from typing import Protocol

__all__ = ["CallControl", "Transport"]


class Transport(Protocol):
    """The media websocket."""

    async def send(self, text: str) -> None:
        """Send one JSON text frame."""

    async def close(self) -> None:
        """Close the socket (with nothing after ``<Connect>``, Twilio ends the call)."""


class CallControl(Protocol):
    """Twilio's REST call control (optional: needs account credentials)."""

    async def hang_up(self, call_sid: str) -> None: ...

    async def transfer(self, call_sid: str, number: str) -> None: ...
