"""The seam every conversation store implements."""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["ConversationStore"]


class ConversationStore(Protocol):
    """Keeps one JSON-able tracker dict per conversation id (the CallSid).

    Methods are synchronous and quick; async callers run them in a worker thread so the
    event loop never waits on disk. Stores shared by several machines (Redis, PostgreSQL)
    also offer ``claim_once(key, ttl_seconds) -> bool``, True only for the first claim of a
    key everywhere: it makes stream tokens single-use across instances.
    """

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
