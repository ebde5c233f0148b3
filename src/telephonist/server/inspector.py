"""The development inspector (``telephonist run --inspect``): a live page of every call, and a
browser phone that calls the bot.

Routes, all under ``/webhooks/twilio_media_streams/inspect`` and present only when inspecting:

- ``GET  inspect``                the page; ``GET inspect/assets/<file>`` its scripts and styles
- ``POST inspect/ticket``         a one-time ticket for opening the event feed
- ``WS   inspect/feed?ticket=``   a snapshot of recent calls, then live call events (JSON)
- ``POST inspect/phone``          a new browser call: CallSid, stream token and a ticket
- ``WS   inspect/phone?ticket=``  the browser phone, speaking the Twilio Media Streams protocol

Bound to loopback, the routes answer only requests addressed to a loopback host (no DNS
rebinding). Bound beyond it, every route needs the channel's Basic-auth credentials, and
``--inspect`` refuses to start without them. Websockets always need a ticket from a POST (or
the credentials in the upgrade itself), so no other web page can open one. Nothing secret is
ever sent: the page sees call events only.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import secrets
from collections.abc import Callable
from pathlib import Path

from starlette.requests import HTTPConnection, Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from telephonist.errors import ConfigError
from telephonist.server.basic_auth import BasicAuth
from telephonist.server.inspector_feed import FeedHub, Subscription
from telephonist.server.media_socket import media_socket
from telephonist.server.runtime import Runtime

__all__ = ["INSPECT_PATH", "Tickets", "inspector_routes", "is_loopback"]

log = logging.getLogger(__name__)

INSPECT_PATH = "/webhooks/twilio_media_streams/inspect"
STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {
    "inspector.css": "text/css",
    "inspector.js": "text/javascript",
    "timeline.js": "text/javascript",
    "phone.js": "text/javascript",
    "phone-worklet.js": "text/javascript",
}
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; frame-ancestors 'none'",
}
TICKET_TTL = 60.0
MAX_TICKETS = 256


def is_loopback(host: str) -> bool:
    """Is ``host`` (an interface or a Host header's name) this machine only?"""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_name(header: str) -> str:
    """The name part of a Host header (``[::1]:5005`` -> ``::1``)."""
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if header.count(":") == 1 else header


class Tickets:
    """One-time, short-lived capabilities for opening an inspector websocket."""

    def __init__(self, now: Callable[[], float], ttl: float = TICKET_TTL) -> None:
        self._now = now
        self._ttl = ttl
        self._issued: dict[str, tuple[str, float]] = {}

    def issue(self, purpose: str) -> str:
        """A new ticket for ``purpose`` ("feed" or "phone")."""
        now = self._now()
        self._issued = {t: v for t, v in self._issued.items() if v[1] >= now}
        while len(self._issued) >= MAX_TICKETS:
            del self._issued[next(iter(self._issued))]
        ticket = secrets.token_urlsafe(24)
        self._issued[ticket] = (purpose, now + self._ttl)
        return ticket

    def redeem(self, ticket: str, purpose: str) -> bool:
        """Consume ``ticket``; True if it was issued for ``purpose`` and has not expired."""
        entry = self._issued.pop(ticket, None)
        return entry is not None and entry[0] == purpose and entry[1] >= self._now()


class _Gate:
    """Who may use the inspector: Basic auth beyond loopback, loopback Host headers on it."""

    def __init__(self, auth: BasicAuth | None, tickets: Tickets) -> None:
        self.auth = auth
        self.tickets = tickets

    def refuse(self, conn: HTTPConnection) -> Response | None:
        """None if this HTTP request may pass, else the response to send."""
        if self.auth is not None:
            return self.auth.refuse(conn)
        if not is_loopback(_host_name(conn.headers.get("host", ""))):
            return PlainTextResponse("The inspector answers on localhost only.", 403)
        return None

    def admits(self, websocket: WebSocket, purpose: str) -> bool:
        """May this websocket upgrade proceed? Needs same-origin plus a ticket (or Basic)."""
        host = websocket.headers.get("host", "")
        origin = websocket.headers.get("origin")
        if origin is not None and origin.partition("://")[2] != host:
            return False
        if self.auth is None and not is_loopback(_host_name(host)):
            return False
        if self.auth is not None and self.auth.refuse(websocket) is None:
            return True
        return self.tickets.redeem(websocket.query_params.get("ticket", ""), purpose)


def _gate_for(runtime: Runtime, interface: str, tickets: Tickets) -> _Gate:
    if is_loopback(interface):
        return _Gate(None, tickets)
    channel = runtime.channel
    if not (channel.username and channel.password):
        raise ConfigError(
            f"--inspect on {interface} would open the inspector beyond this machine; set "
            "username and password in the twilio_media_streams block (the inspector then "
            "asks for them), or bind to localhost with --interface 127.0.0.1",
            key="twilio_media_streams.username",
        )
    return _Gate(BasicAuth(channel.username, channel.password), tickets)


def _new_sid(prefix: str) -> str:
    """A Twilio-shaped 34-character SID (``CAbrowser…``)."""
    return prefix + secrets.token_hex(16)[: 34 - len(prefix)]


def inspector_routes(runtime: Runtime, interface: str) -> list[BaseRoute]:
    """The inspector's routes for a server bound to ``interface``; raises `ConfigError` when
    that is beyond loopback and no Basic-auth credentials are configured."""
    tickets = Tickets(runtime.clock.now)
    gate = _gate_for(runtime, interface, tickets)
    hub = FeedHub(runtime.clock.now)
    runtime.events.subscribe(hub)

    async def page(request: Request) -> Response:
        if (refusal := gate.refuse(request)) is not None:
            return refusal
        return FileResponse(STATIC / "inspector.html", media_type="text/html", headers=HEADERS)

    async def asset(request: Request) -> Response:
        if (refusal := gate.refuse(request)) is not None:
            return refusal
        name = request.path_params["name"]
        if name not in ASSETS:
            return PlainTextResponse("Not found.", 404)
        return FileResponse(STATIC / name, media_type=ASSETS[name], headers=HEADERS)

    async def ticket(request: Request) -> Response:
        if (refusal := gate.refuse(request)) is not None:
            return refusal
        return JSONResponse({"ticket": tickets.issue("feed")}, headers=HEADERS)

    async def new_phone_call(request: Request) -> Response:
        if (refusal := gate.refuse(request)) is not None:
            return refusal
        assert runtime.tokens is not None
        call_sid = _new_sid("CAbrowser")
        parameters = {
            "call_id": call_sid,
            "user_phone": "browser",
            "bot_phone": "inspector",
            "direction": "inbound",
            "stream_token": runtime.tokens.issue(call_sid),
        }
        return JSONResponse(
            {
                "call_sid": call_sid,
                "stream_sid": _new_sid("MZ"),
                "account_sid": _new_sid("AC"),
                "parameters": parameters,
                "ticket": tickets.issue("phone"),
            },
            headers=HEADERS,
        )

    async def feed(websocket: WebSocket) -> None:
        if not gate.admits(websocket, "feed"):
            await websocket.close(code=1008)  # before accept: the upgrade gets HTTP 403
            return
        await websocket.accept()
        subscription, cancel = hub.subscribe()
        try:
            await _serve_feed(websocket, subscription)
        finally:
            cancel()

    async def phone(websocket: WebSocket) -> None:
        if not gate.admits(websocket, "phone"):
            await websocket.close(code=1008)
            return
        await media_socket(websocket, runtime, verify_signature=False)

    return [
        Route(INSPECT_PATH, page, methods=["GET"]),
        Route(f"{INSPECT_PATH}/assets/{{name}}", asset, methods=["GET"]),
        Route(f"{INSPECT_PATH}/ticket", ticket, methods=["POST"]),
        WebSocketRoute(f"{INSPECT_PATH}/feed", feed),
        Route(f"{INSPECT_PATH}/phone", new_phone_call, methods=["POST"]),
        WebSocketRoute(f"{INSPECT_PATH}/phone", phone),
    ]


async def _serve_feed(websocket: WebSocket, subscription: Subscription) -> None:
    """Send queued messages until the browser goes away (anything it sends is ignored). If
    the browser fell so far behind that messages were dropped, say so and close: the page
    reconnects and starts again from a fresh snapshot."""

    async def pump() -> None:
        while True:
            message = await subscription.get()
            if subscription.dropped:
                await websocket.send_text(
                    json.dumps({"type": "dropped", "count": subscription.dropped})
                )
                return
            await websocket.send_text(json.dumps(message))

    async def drain() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    tasks = [asyncio.create_task(pump()), asyncio.create_task(drain())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(
                asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError
            ):
                await task
