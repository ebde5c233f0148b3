"""A fake of Twilio's REST Calls resource: records call updates (hang-up, transfer)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from telephonist.server.serve import bound_socket, uvicorn_server


@dataclass
class FakeTwilioRest:
    """Accepts ``POST /2010-04-01/Accounts/{AC}/Calls/{CA}.json`` with Basic auth."""

    account_sid: str
    auth_token: str
    status: int = 200
    updates: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def update_call(self, request: Request) -> Response:
        """Record the update, as the real API answers with the Call resource."""
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"code": 20003, "message": "Authenticate"}, status_code=401)
        if request.path_params["account"] != self.account_sid:
            return JSONResponse({"code": 20404, "message": "Not found"}, status_code=404)
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.updates.append((request.path_params["call"], form))
        self.changed.set()
        if self.status != 200:
            return JSONResponse(
                {"code": 21220, "message": "Call is not in-progress."}, status_code=self.status
            )
        return JSONResponse({"sid": request.path_params["call"], "status": "completed"})

    @asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        """Serve on a free port; yields the base URL to use instead of api.twilio.com."""
        app = Starlette(
            routes=[
                Route(
                    "/2010-04-01/Accounts/{account}/Calls/{call}.json",
                    self.update_call,
                    methods=["POST"],
                )
            ]
        )
        sock = bound_socket()
        server = uvicorn_server(app)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.should_exit = True
            await task
            sock.close()
