"""HTTP client for a Rasa server: its REST channel, its tracker API and its health routes.

One `httpx.AsyncClient` (one connection pool, sized for the calls of a process) is shared by
every call. Every failure is a `ProviderError` whose message names what went wrong but never
the URL's query, so Rasa's auth token stays out of errors and logs.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

import httpx

from telephonist.errors import ProviderError
from telephonist.gateway.settings import GatewaySettings

__all__ = ["RasaClient"]

PROVIDER = "rasa"
_REST = "/webhooks/rest/webhook"
LATE_ANSWER_LIMIT = 60.0
"""Seconds a request may run past the caller's timeout, so a late answer can be logged."""
KEEPALIVE_S = 4.0
"""Idle connections are dropped before Rasa's server (Sanic: 5 s keep-alive) closes them, so a
message is never written into a connection the server is closing."""


_TOKEN = re.compile(r"(?<=[?&]token=)[^&#\s]*")


class _HideToken(logging.Filter):
    """httpx logs each request's URL (INFO, logger ``httpx``): hide the token's value."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(
                _TOKEN.sub("***", str(a)) if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


_HIDE_TOKEN = _HideToken()


class RasaClient:
    """Requests to one Rasa server."""

    def __init__(
        self, settings: GatewaySettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        limits = httpx.Limits(
            max_connections=settings.max_connections,
            max_keepalive_connections=settings.max_connections,
            keepalive_expiry=KEEPALIVE_S,
        )
        self._params = {"token": settings.token} if settings.token else None
        if settings.token:  # once per process: the filter is shared
            logging.getLogger("httpx").addFilter(_HIDE_TOKEN)
        self._http = httpx.AsyncClient(
            base_url=settings.url,
            limits=limits,
            timeout=httpx.Timeout(max(LATE_ANSWER_LIMIT, settings.timeout), connect=5.0),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"RasaClient(url={self.settings.url!r})"

    async def send(self, sender: str, message: str, metadata: dict[str, Any]) -> list[Any]:
        """POST one user message to the REST channel; Rasa's list of bot messages."""
        body = {"sender": sender, "message": message, "metadata": metadata}
        answer = await self._request("POST", _REST, json=body)
        if not isinstance(answer, list):
            raise ProviderError(PROVIDER, "the REST channel did not answer a list", retryable=False)
        return answer

    async def tracker(self, sender: str) -> dict[str, Any]:
        """The conversation's tracker (needs Rasa's HTTP API: ``rasa run --enable-api``)."""
        path = f"/conversations/{quote(sender, safe='')}/tracker"
        answer = await self._request("GET", path, params={"include_events": "NONE"})
        if not isinstance(answer, dict):
            raise ProviderError(PROVIDER, "the tracker is not an object", retryable=False)
        return answer

    async def root(self) -> str:
        """``GET /``: Rasa's greeting with its version (always enabled)."""
        response = await self._send("GET", "/", limit=self.settings.timeout)
        return response.text.strip()

    async def status(self) -> dict[str, Any]:
        """``GET /status``: the loaded model (only with ``--enable-api``)."""
        answer = await self._request("GET", "/status", limit=self.settings.timeout)
        return answer if isinstance(answer, dict) else {}

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        limit: float | None = None,
    ) -> Any:
        response = await self._send(method, path, json=json, params=params, limit=limit)
        try:
            return response.json()
        except ValueError:
            raise ProviderError(
                PROVIDER, f"{path} answered something that is not JSON", retryable=False
            ) from None

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        limit: float | None = None,
    ) -> httpx.Response:
        query = {**(params or {}), **(self._params or {})} or None
        extra: dict[str, Any] = {} if limit is None else {"timeout": limit}
        try:
            response = await self._http.request(method, path, json=json, params=query, **extra)
        except httpx.TimeoutException:
            raise ProviderError(PROVIDER, f"{path}: no answer in time", retryable=True) from None
        except httpx.HTTPError as exc:
            raise ProviderError(
                PROVIDER,
                f"{path}: cannot reach {self.settings.url} ({type(exc).__name__})",
                retryable=True,
            ) from None
        if response.status_code >= 400:
            raise ProviderError(
                PROVIDER,
                f"{path} answered HTTP {response.status_code}{_hint(path, response.status_code)}",
                retryable=response.status_code >= 500 or response.status_code == 429,
            )
        return response

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()


def _hint(path: str, status: int) -> str:
    if path == _REST and status == 404:
        return " (is `rest:` in the Rasa server's credentials.yml?)"
    if status in (401, 403):
        return " (set assistant.token to the server's --auth-token)"
    if status == 404 or (status == 405 and path != _REST):
        return " (start Rasa with --enable-api)"
    return ""
