"""Knowing, before a call's socket closes, that the server is ending its stream on purpose.

A redirect that follows a stream the server ended must get ``<Hangup/>`` (`server.resume`),
so the end is recorded as soon as it is decided rather than when the socket closes:

* the bot's hang-up when the assistant answers with it (the session says so through
  ``on_purpose`` before the goodbye is spoken): a stream lost while "Goodbye!" plays is not
  resumed;
* the server's own stop (shutdown, drain timeout) by the server, before uvicorn closes the
  sockets; the call's close then reads as "server stopped" from that local mark, not from a
  close code that a proxy may send as well.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telephonist.server.runtime import Runtime

__all__ = ["StreamEnd", "stop_streams"]


class StreamEnd:
    """One stream's end on purpose, recorded once (``record``: the ledger's, or None without
    resume); the session's ``on_purpose``."""

    def __init__(self, record: Callable[[str], Awaitable[None]] | None) -> None:
        self._record = record
        self._recording: asyncio.Future[None] | None = None
        self.reason: str | None = None
        """Why the server ends the stream, once it has decided to."""
        self.stopped = False
        """The server itself is closing the socket (shutdown or drain timeout)."""

    async def on_purpose(self, reason: str) -> None:
        """Record the end (the first reason wins) and wait until the ledger has it."""
        self._start(reason)
        if self._recording is not None:  # shielded: a cancelled caller must not cancel it
            await asyncio.shield(self._recording)

    async def decided(self) -> str | None:
        """The end decided so far (once recorded), or None."""
        if self._recording is not None:
            await asyncio.shield(self._recording)
        return self.reason

    def _start(self, reason: str) -> None:
        if self.reason is not None:
            return
        self.reason = reason
        if self._record is not None:
            self._recording = asyncio.ensure_future(self._record(reason))


async def stop_streams(runtime: Runtime, reason: str) -> None:
    """The server is about to close every call's socket (``reason``): mark each stream as
    stopped by it and record the end first, so no redirect that follows resumes it."""
    known = runtime.stream_ends
    ends = [e for s in list(runtime.sessions.values()) if (e := known.get(s)) is not None]
    for end in ends:
        end.stopped = True
    await asyncio.gather(*(end.on_purpose(reason) for end in ends))
