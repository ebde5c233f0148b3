"""`TwimlRequests`: Twilio's HTTP side of one call — the voice webhook, then each
``<Redirect>`` — and where each request and stream really goes.

Twilio requests the URL it was given (the number's webhook, then redirects resolved against
the current document's URL), signs exactly that URL, answers a Basic-auth challenge with the
credentials of the webhook URL for the rest of the call, and opens the ``wss://`` stream a
TwiML names. The simulator may stand in for the public host (``public_url``: the requests go
to the local server given instead) or for a load balancer (``redirect_url``: redirects, and
their streams, go to another server).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx
from twilio.request_validator import RequestValidator

from telephonist.simulator.twiml import (
    CallFailed,
    Hangup,
    Redirect,
    Then,
    TwiML,
    parse_document,
    rebase,
    without_credentials,
)

__all__ = ["MAX_REDIRECTS", "TwimlRequests"]

MAX_REDIRECTS = 10
"""Redirects in a row without a stream before a call is given up."""


@dataclass
class TwimlRequests:
    """The webhook and redirect requests of one call."""

    webhook_url: str
    auth_token: str | None = field(default=None, repr=False)
    public_url: str | None = None
    redirect_url: str | None = None
    insecure_local: bool = False
    http: httpx.AsyncClient | None = None
    """A client to send with (one per request when None)."""

    def __post_init__(self) -> None:
        parts = urlsplit(self.webhook_url)
        self._credentials = (
            None if parts.username is None else (parts.username, parts.password or "")
        )
        self.document_url = without_credentials(self.public_url or self.webhook_url)
        """The URL of the TwiML being run, as Twilio knows it (redirects resolve against it)."""
        self.target = without_credentials(self.webhook_url) if self.public_url else None
        """Where requests for the document's host really go (None: where Twilio sends them)."""
        self.redirected = False

    async def webhook(self, form: Mapping[str, str]) -> str:
        """POST the voice webhook; the TwiML text."""
        return await self._post(self.document_url, form)

    async def redirect(self, url: str, form: Mapping[str, str]) -> str:
        """Follow a ``<Redirect>`` to ``url`` (relative to the current document); the TwiML."""
        self.document_url = urljoin(self.document_url, url)
        if self.redirect_url is not None:
            self.target = self.redirect_url
        self.redirected = True
        return await self._post(self.document_url, form)

    async def next_stream(self, then: tuple[Then, ...], form: Mapping[str, str]) -> TwiML | str:
        """Run the verbs after a finished ``<Connect>``: the TwiML of the next stream, or why
        the call ends (``<Hangup/>``, ``end of TwiML``, a redirect that failed)."""
        for _ in range(MAX_REDIRECTS):
            verb = then[0] if then else None
            if not isinstance(verb, Redirect):
                return "<Hangup/>" if isinstance(verb, Hangup) else "end of TwiML"
            try:
                document = parse_document(await self.redirect(verb.url, form))
            except CallFailed as exc:
                return f"redirect failed: {exc}"
            if isinstance(document, TwiML):
                return document
            then = document
        return f"more than {MAX_REDIRECTS} redirects without a stream"

    def stream_target(self, twiml: TwiML, override: str | None) -> str:
        """Where a TwiML's stream is opened: on ``redirect_url`` once a redirect went there,
        else ``override``, the stand-in server for the public host, plain ``ws://`` for an
        insecure local server, or the TwiML's own URL."""
        if self.redirected and self.redirect_url is not None:
            return rebase(twiml.stream_url, self.redirect_url, websocket=True)
        if override is not None:
            return override
        same_host = urlsplit(twiml.stream_url).hostname == urlsplit(self.document_url).hostname
        if self.target is not None and same_host:
            return rebase(twiml.stream_url, self.target, websocket=True)
        if self.insecure_local:
            return twiml.stream_url.replace("wss://", "ws://", 1)
        return twiml.stream_url

    async def _post(self, url: str, form: Mapping[str, str]) -> str:
        """POST ``form`` as Twilio does: signed for ``url``, sent to ``target`` when set, with
        the Basic-auth challenge dance; the answer's text (a `CallFailed` unless 200)."""
        send_to = url if self.target is None else rebase(url, self.target)
        headers = {
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
        }
        if self.auth_token:  # Twilio signs the configured URL without its credentials
            headers["X-Twilio-Signature"] = RequestValidator(self.auth_token).compute_signature(
                url, dict(form)
            )
        async with contextlib.AsyncExitStack() as stack:
            http = self.http
            if http is None:
                http = await stack.enter_async_context(httpx.AsyncClient(timeout=15))
            try:
                response = await http.post(send_to, data=form, headers=headers)
                if (
                    response.status_code == 401
                    and self._credentials is not None
                    and response.headers.get("www-authenticate", "").lower().startswith("basic")
                ):
                    auth = httpx.BasicAuth(*self._credentials)
                    response = await http.post(send_to, data=form, headers=headers, auth=auth)
            except httpx.HTTPError as exc:
                raise CallFailed(f"webhook unreachable: {exc!r}") from None
        if response.status_code != 200:
            raise CallFailed(f"webhook answered HTTP {response.status_code}: {response.text[:200]}")
        return response.text
