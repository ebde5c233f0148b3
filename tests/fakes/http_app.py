"""Serve an ASGI app with uvicorn on 127.0.0.1 inside the test's event loop.

The listening socket is bound before uvicorn starts, so the URL is known (and connections
queue in the backlog) at once: nothing polls for "started".
"""

from __future__ import annotations

import asyncio
import socket
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

__all__ = ["ServedApp"]


class ServedApp:
    """``async with ServedApp(app) as served:`` then ``served.url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The base URL (no path)."""
        assert self._socket is not None, "not started"
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    async def __aenter__(self) -> ServedApp:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        sock.setblocking(False)
        self._socket = sock
        config = uvicorn.Config(
            self._app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await self._task
        if self._socket is not None:
            self._socket.close()
