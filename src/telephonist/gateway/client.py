"""HTTP client for a Rasa server: its REST channel, its tracker API and its health routes.

One aiohttp session (one connection pool, sized for the calls of a process) is shared by
every call. aiohttp rather than httpx: with 200 calls sending staggered turns, httpx's pool
added a p50 of 250 ms and seconds at p95 on the development machine, aiohttp about 1 ms
(benchmarks/gateway.py). Every failure is a `ProviderError` whose message names what went
wrong but never the URL's query, so Rasa's auth token stays out of errors and logs.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import aiohttp

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
DEFAULT_POOL = 200
"""Pool size when the settings leave it to the caller (the default ``limits.max_calls``)."""


class RasaClient:
    """Requests to one Rasa server. The session is opened on first use, inside the event
    loop that serves the calls."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._token = {"token": settings.token} if settings.token else {}
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"RasaClient(url={self.settings.url!r})"

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.settings.max_connections or DEFAULT_POOL, keepalive_timeout=KEEPALIVE_S
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=max(LATE_ANSWER_LIMIT, self.settings.timeout), sock_connect=5.0
                ),
                json_serialize=json.dumps,
            )
        return self._session

    async def send(self, sender: str, message: str, metadata: dict[str, Any]) -> list[Any]:
        """POST one user message to the REST channel; Rasa's list of bot messages."""
        body = {"sender": sender, "message": message, "metadata": metadata}
        answer = _json(_REST, await self._request("POST", _REST, body=body))
        if not isinstance(answer, list):
            raise ProviderError(PROVIDER, "the REST channel did not answer a list", retryable=False)
        return answer

    async def tracker(self, sender: str) -> dict[str, Any]:
        """The conversation's tracker (needs Rasa's HTTP API: ``rasa run --enable-api``)."""
        path = f"/conversations/{quote(sender, safe='')}/tracker"
        answer = _json(path, await self._request("GET", path, params={"include_events": "NONE"}))
        if not isinstance(answer, dict):
            raise ProviderError(PROVIDER, "the tracker is not an object", retryable=False)
        return answer

    async def root(self) -> str:
        """``GET /``: Rasa's greeting with its version (always enabled)."""
        text = await self._request("GET", "/", limit=self.settings.timeout)
        return text.decode(errors="replace").strip()

    async def status(self) -> dict[str, Any]:
        """``GET /status``: the loaded model (only with ``--enable-api``)."""
        answer = _json(
            "/status", await self._request("GET", "/status", limit=self.settings.timeout)
        )
        return answer if isinstance(answer, dict) else {}

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        limit: float | None = None,
    ) -> bytes:
        """The answer's body; raises `ProviderError` for every failure."""
        extra: dict[str, Any] = {} if limit is None else {"timeout": aiohttp.ClientTimeout(limit)}
        try:
            async with self._http().request(
                method,
                self.settings.url + path,
                json=body,
                params={**(params or {}), **self._token},
                allow_redirects=False,
                **extra,
            ) as response:
                status = response.status
                data = await response.read()
        except TimeoutError:
            raise ProviderError(PROVIDER, f"{path}: no answer in time", retryable=True) from None
        except aiohttp.ClientError as exc:
            raise ProviderError(
                PROVIDER,
                f"{path}: cannot reach {self.settings.url} ({type(exc).__name__})",
                retryable=True,
            ) from None
        if status >= 400:
            raise ProviderError(
                PROVIDER,
                f"{path} answered HTTP {status}{_hint(path, status)}",
                retryable=status >= 500 or status == 429,
            )
        return data

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()


def _json(path: str, data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        raise ProviderError(
            PROVIDER, f"{path} answered something that is not JSON", retryable=False
        ) from None


def _hint(path: str, status: int) -> str:
    if path == _REST and status == 404:
        return " (is `rest:` in the Rasa server's credentials.yml?)"
    if status in (401, 403):
        return " (set assistant.token to the server's --auth-token)"
    if status == 404 or (status == 405 and path != _REST):
        return " (start Rasa with --enable-api)"
    return ""
