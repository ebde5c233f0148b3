"""Connections that hold a slot without having shown anything yet, oldest first.

An HTTP connection is idle until its request has fully arrived; a media websocket until its
``start`` has. When ``limits.max_connections`` is reached, the oldest idle connection is
closed to make room for the new one, so connections opened and left idle cannot keep the
server's slots from Twilio and health checks: a request that arrives whole at once (as
Twilio's do) is never the oldest for long. Only when nothing is idle is a new connection
refused.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

__all__ = ["IdleConnections"]


class IdleConnections:
    """A registry of idle connections and how to close each; oldest first."""

    def __init__(self) -> None:
        self._closers: dict[Hashable, Callable[[], object]] = {}
        self.evicted = 0

    def add(self, key: Hashable, close: Callable[[], object]) -> None:
        """``key`` is idle from now (re-adding keeps its age)."""
        self._closers.setdefault(key, close)

    def discard(self, key: Hashable) -> None:
        """``key`` is no longer idle (its request or start arrived, or it closed)."""
        self._closers.pop(key, None)

    def evict_oldest(self) -> bool:
        """Close the oldest idle connection; False when there is none."""
        if not self._closers:
            return False
        key = next(iter(self._closers))
        close = self._closers.pop(key)
        self.evicted += 1
        close()
        return True

    def __len__(self) -> int:
        return len(self._closers)
