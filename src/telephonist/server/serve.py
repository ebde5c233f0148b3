"""Running the app under uvicorn with the websocket limits Media Streams need."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

import uvicorn
from starlette.applications import Starlette

__all__ = ["MAX_WS_MESSAGE_BYTES", "bound_socket", "run_on_loop", "uvicorn_server"]

T = TypeVar("T")
Loop = Literal["auto", "uvloop", "asyncio"]

MAX_WS_MESSAGE_BYTES = 64 * 1024
"""Inbound frames are ~300 bytes; a larger cap only invites memory abuse."""


def uvicorn_server(app: Starlette, *, host: str = "127.0.0.1", port: int = 5005,
                   log_level: str = "warning") -> uvicorn.Server:
    """A uvicorn server for ``app`` (call ``serve()``, or ``serve(sockets=[...])``)."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, lifespan="off",
        ws_max_size=MAX_WS_MESSAGE_BYTES, ws_ping_interval=20.0, ws_ping_timeout=20.0,
        ws_per_message_deflate=False,  # Twilio does not compress; deflate only costs CPU
        log_config=None, access_log=False,
    )
    return uvicorn.Server(config)


def bound_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket (port 0 picks a free port), so clients may connect at once."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
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
