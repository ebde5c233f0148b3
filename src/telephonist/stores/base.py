"""The seam every conversation store implements."""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Claims", "ConversationStore"]


class Claims(Protocol):
    """First-come claims that every instance sharing a store sees."""

    def claim_once(self, key: str, ttl_seconds: float) -> bool:
        """True only for the first claim of ``key`` anywhere, until ``ttl_seconds`` pass."""
        ...


class ConversationStore(Protocol):
    """Keeps one JSON-able tracker dict per conversation id (the CallSid).

    Methods are synchronous and quick; async callers run them in a worker thread so the
    event loop never waits on disk.
    """

    @property
    def claims(self) -> Claims | None:
        """The store's claims when several instances share it (Redis, PostgreSQL): they make
        stream tokens single-use across instances. None for a store private to one process."""
        ...

    def load(self, conversation_id: str) -> dict[str, Any] | None:
        """The stored tracker, or None for an unknown conversation."""
        ...

    def save(self, conversation_id: str, tracker: dict[str, Any]) -> None:
        """Store (replace) the tracker of a conversation."""
        ...

    def list(self) -> list[str]:
        """Every stored conversation id, most recently updated first."""
        ...

    def delete(self, conversation_id: str) -> bool:
        """Forget a conversation; True when it existed."""
        ...

    def close(self) -> None:
        """Release files and connections."""
        ...
