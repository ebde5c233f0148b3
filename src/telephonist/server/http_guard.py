"""uvicorn's HTTP protocol with the two limits it lacks: a deadline for each request, and a cap
on open connections.

uvicorn starts no timer before a request's first line, and re-arms its keep-alive timer on
every byte, so a connection that sends nothing, or a header line every few seconds, is held
forever: enough of them exhaust the file descriptors and nobody else is answered. Here each
connection must deliver a whole request (line, headers and body) within
``limits.request_timeout`` of connecting or of its previous response, or it is closed. Beyond
``limits.max_connections`` (HTTP and websockets together), a new connection makes room by
closing the oldest idle one (see `IdleConnections`), or is closed at once when none is idle.
A websocket's own deadline (for ``start``) is the media socket's.

The cost is one timer per request (`benchmarks/abuse.py --guard-cost` measures it).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from telephonist.config.limits import Limits
from telephonist.server.idle import IdleConnections

__all__ = ["guarded_http"]


def guarded_http(limits: Limits, idle: IdleConnections) -> type[HttpToolsProtocol]:
    """An `HttpToolsProtocol` subclass enforcing ``limits`` (pass it as uvicorn's ``http``);
    connections waiting for a request are registered in ``idle``."""

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections and not idle.evict_oldest():
                transport.close()  # uvicorn forgets it in connection_lost
                return
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_headers_complete(self) -> None:
            if self.parser.should_upgrade() and self._should_upgrade():
                self._disarm()  # a websocket from here on: no longer this protocol's
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            idle = self.cycle is None or self.cycle.response_complete
            if idle and not self.transport.is_closing():  # the next request's clock starts
                self._arm()

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(limits.request_timeout, self._expire)
            idle.add(self, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None
                idle.discard(self)

        def _expire(self) -> None:
            self._disarm()
            if not self.transport.is_closing():
                self.transport.close()

    return GuardedHttpToolsProtocol
