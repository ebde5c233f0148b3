"""Running the app under uvicorn with the websocket limits Media Streams need."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Coroutine
from types import FrameType
from typing import Any, Literal, TypeVar

import uvicorn
from starlette.applications import Starlette

from telephonist.config.limits import Limits
from telephonist.server.http_guard import guarded_http
from telephonist.server.idle import IdleConnections
from telephonist.server.runtime import Runtime
from telephonist.server.stream_end import stop_streams

__all__ = [
    "MAX_WS_MESSAGE_BYTES",
    "DrainingServer",
    "StoppingServer",
    "bound_socket",
    "run_on_loop",
    "uvicorn_server",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
Loop = Literal["auto", "uvloop", "asyncio"]

MAX_WS_MESSAGE_BYTES = 64 * 1024
"""Inbound frames are ~300 bytes; a larger cap only invites memory abuse."""


class StoppingServer(uvicorn.Server):
    """uvicorn, stopping calls on purpose: once it is to stop (a signal, a drain's end), every
    call still going is marked and recorded as ended by the server *before* uvicorn closes
    the sockets, so Twilio's redirects that follow are hung up rather than resumed."""

    def __init__(self, config: uvicorn.Config, runtime: Runtime) -> None:
        super().__init__(config)
        self.runtime = runtime

    async def on_tick(self, counter: int) -> bool:
        """uvicorn's 100 ms housekeeping tick; its last (``True``) comes before the sockets
        close."""
        stopping = await super().on_tick(counter)
        if stopping and self.runtime.sessions:
            await stop_streams(self.runtime, "server stopped")
        return stopping


class DrainingServer(StoppingServer):
    """Graceful shutdown for calls: the first SIGINT/SIGTERM stops new calls (webhook and
    ``/health`` answer 503, so Twilio tries the number's fallback URL and load balancers move
    on) while the calls in progress go on, for up to ``drain_timeout`` seconds; then the
    server stops. A second signal stops it at once. Without calls it stops at once."""

    def __init__(self, config: uvicorn.Config, runtime: Runtime, drain_timeout: float) -> None:
        super().__init__(config, runtime)
        self.drain_timeout = drain_timeout
        self._deadline: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Signal handler (uvicorn's): drain first, stop on the second signal."""
        if not self.drain():
            super().handle_exit(sig, frame)

    def calls(self) -> int:
        """Calls in progress, and calls answered whose stream has not arrived yet."""
        tokens = self.runtime.tokens
        return len(self.runtime.sessions) + (tokens.pending() if tokens is not None else 0)

    def drain(self) -> bool:
        """Start draining; False when there is nothing to drain or a drain is under way
        (the caller should stop the server now)."""
        if self._deadline is not None or self.drain_timeout <= 0 or not self.calls():
            return False
        self.runtime.draining = True
        self._deadline = time.monotonic() + self.drain_timeout
        log.warning(
            "server.draining: %d call(s) in progress or connecting; not taking new "
            "calls; stopping when they end or in %.0f s (signal again to stop now)",
            self.calls(),
            self.drain_timeout,
        )
        return True

    async def on_tick(self, counter: int) -> bool:
        """uvicorn's 100 ms housekeeping tick: end the drain when the calls are over."""
        if self._deadline is not None and counter % 5 == 0:
            await self.runtime.settle_pending()
        if (
            self._deadline is not None
            and not self.should_exit
            and (not self.calls() or time.monotonic() >= self._deadline)
        ):
            if self.runtime.sessions:
                log.warning("server.drain_timeout: ending %d call(s)", len(self.runtime.sessions))
                await stop_streams(self.runtime, "drain timeout")
            self.should_exit = True
        return await super().on_tick(counter)


def uvicorn_server(
    app: Starlette,
    *,
    host: str = "127.0.0.1",
    port: int = 5005,
    log_level: str = "warning",
    runtime: Runtime | None = None,
    drain_timeout: float = 0.0,
) -> uvicorn.Server:
    """A uvicorn server for ``app`` (call ``serve()``, or ``serve(sockets=[...])``) holding
    the runtime's connection limits (the defaults without one); with a ``runtime``, a
    `StoppingServer`, or with a ``drain_timeout`` too, a `DrainingServer`."""
    limits = runtime.channel.limits if runtime is not None else Limits()
    idle = runtime.idle if runtime is not None else IdleConnections()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=guarded_http(limits, idle),
        log_level=log_level,
        lifespan="off",
        ws_max_size=MAX_WS_MESSAGE_BYTES,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        ws_per_message_deflate=False,  # Twilio does not compress; deflate only costs CPU
        log_config=None,
        access_log=False,
    )
    if runtime is None:
        return uvicorn.Server(config)
    if drain_timeout > 0:
        return DrainingServer(config, runtime, drain_timeout)
    return StoppingServer(config, runtime)


def bound_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket (port 0 picks a free port), so clients may connect at once."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(512)
    except BaseException:
        sock.close()  # a busy port must not leak the socket
        raise
    return sock


def run_on_loop(main: Coroutine[Any, Any, T], loop: Loop = "auto") -> T:
    """Run ``main`` on uvloop when it is installed ("auto"), else on asyncio's own loop.

    uvloop (a uvicorn[standard] dependency) costs about a sixth less CPU per call on the
    media path: its socket reads and pause/resume of reading avoid a syscall per message.
    """
    if loop != "asyncio":
        try:
            import uvloop
        except ImportError:
            if loop == "uvloop":
                raise
        else:
            return uvloop.run(main)
    return asyncio.run(main)
