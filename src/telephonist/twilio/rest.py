"""Call control through Twilio's REST API (the `twilio` library's client), for hang-up and
transfer. The client is synchronous, so each request runs in a worker thread.

``api_base`` replaces ``https://api.twilio.com`` (an API proxy, or a local fake in tests).
"""

from __future__ import annotations

import asyncio
from typing import Any

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from telephonist.errors import ProviderError
from telephonist.twilio.twiml import transfer_twiml

__all__ = ["TwilioCallControl"]

TWILIO_API = "https://api.twilio.com"


class _RebasedHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """Sends the library's requests to ``api_base`` instead of api.twilio.com."""

    def __init__(self, api_base: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._api_base = api_base.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if url.startswith(TWILIO_API):
            url = self._api_base + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


class TwilioCallControl:
    """Hangs up or transfers live calls."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        api_base: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        http_client = (
            _RebasedHttpClient(api_base, timeout) if api_base else TwilioHttpClient(timeout=timeout)
        )
        self._client = Client(account_sid, auth_token, http_client=http_client)

    async def hang_up(self, call_sid: str) -> None:
        """End the call (``Status=completed``)."""
        await self._update(call_sid, status="completed")

    async def transfer(self, call_sid: str, number: str) -> None:
        """Replace the call's TwiML with ``<Dial>number</Dial>``."""
        await self._update(call_sid, twiml=transfer_twiml(number))

    async def _update(self, call_sid: str, **fields: str) -> None:
        def update() -> None:
            self._client.calls(call_sid).update(**fields)

        try:
            await asyncio.to_thread(update)
        except TwilioRestException as exc:
            retryable = exc.status in (429,) or exc.status >= 500
            raise ProviderError(
                "twilio",
                f"call update failed: HTTP {exc.status} (code {exc.code})",
                retryable=retryable,
            ) from None
        except (TwilioException, OSError) as exc:
            raise ProviderError(
                "twilio", f"call update failed: {type(exc).__name__}", retryable=True
            ) from None

    def __repr__(self) -> str:
        return "TwilioCallControl(credentials=<redacted>)"
