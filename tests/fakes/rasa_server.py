"""A fake Rasa server over real HTTP: the REST channel, ``GET /``, ``/status`` and the
tracker API, with scripted answers, failures and held (slow) answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from tests.fakes.http_app import ServedApp

Answer = Sequence[Mapping[str, Any]]


@dataclass
class FakeRasa:
    """Answers each message from ``answers`` (by message text; unknown ones: ``[]``), or
    from ``respond`` when set. ``status`` != 200 fails every message; while ``hold`` is set
    to an unset event, answers wait for it (a slow Rasa). ``api=False`` is a Rasa started
    without ``--enable-api``; ``token`` is its ``--auth-token``."""

    answers: Mapping[str, Answer] = field(default_factory=dict)
    respond: Callable[[str, dict[str, Any]], Answer] | None = None
    status: int = 200
    hold: asyncio.Event | None = None
    api: bool = True
    token: str | None = None
    trackers: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    """Every REST body, in arrival order."""
    answered: list[str] = field(default_factory=list)
    """Messages whose answer was sent, in order."""
    tokens_seen: list[str | None] = field(default_factory=list)
    tracker_requests: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def messages(self) -> list[str]:
        """The message texts received."""
        return [body["message"] for body in self.received]

    async def wait_for(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        """Wait until ``predicate()`` holds, re-checked after each request."""
        async with asyncio.timeout(within):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    async def _webhook(self, request: Request) -> Response:
        self.tokens_seen.append(request.query_params.get("token"))
        body = await request.json()
        self.received.append(body)
        self.changed.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.status != 200:
            return PlainTextResponse("failure", status_code=self.status)
        message = body["message"]
        if self.respond is not None:
            answer = self.respond(message, body.get("metadata") or {})
        else:
            answer = self.answers.get(message, [])
        self.answered.append(message)
        self.changed.set()
        return JSONResponse([{"recipient_id": body["sender"], **m} for m in answer])

    def _authorised(self, request: Request) -> bool:
        return self.token is None or request.query_params.get("token") == self.token

    async def _status(self, request: Request) -> Response:
        if not self.api:
            return PlainTextResponse("Not Found", status_code=404)
        if not self._authorised(request):
            return JSONResponse({"message": "User is not authenticated."}, status_code=401)
        return JSONResponse({"model_file": "fake.tar.gz", "num_active_training_jobs": 0})

    async def _tracker(self, request: Request) -> Response:
        self.tracker_requests += 1
        self.changed.set()
        if not self.api:
            return PlainTextResponse("Not Found", status_code=404)
        if not self._authorised(request):
            return JSONResponse({"message": "User is not authenticated."}, status_code=401)
        sender = request.path_params["sender"]
        return JSONResponse(self.trackers.get(sender, {"sender_id": sender, "slots": {}}))

    async def _root(self, request: Request) -> Response:
        return PlainTextResponse("Hello from Rasa: 3.6.21")

    @asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        """Serve on a free port; yields the base URL."""
        app = Starlette(
            routes=[
                Route("/", self._root, methods=["GET"]),
                Route("/status", self._status, methods=["GET"]),
                Route("/webhooks/rest/webhook", self._webhook, methods=["POST"]),
                Route("/conversations/{sender}/tracker", self._tracker, methods=["GET"]),
            ]
        )
        async with ServedApp(app) as served:
            try:
                yield served.url
            finally:
                if self.hold is not None:
                    self.hold.set()
