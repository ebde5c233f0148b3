"""The seam every conversation store implements."""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Claims", "ConversationStore", "Ledger"]


class Claims(Protocol):
    """First-come claims that every instance sharing a store sees."""

    def claim_once(self, key: str, ttl_seconds: float) -> bool:
        """True only for the first claim of ``key`` anywhere, until ``ttl_seconds`` pass."""
        ...

    def claimed(self, key: str) -> bool:
        """Whether ``key`` holds an unexpired claim, without claiming it (a draining worker
        asks whether a call it answered started its stream on another one)."""
        ...


class Ledger(Protocol):
    """First-written records every process sharing a store sees (how each media stream of a
    call began and ended, so a call can resume on any instance and never twice)."""

    def record_once(self, key: str, value: str, ttl_seconds: float) -> str | None:
        """Write ``value`` under ``key`` unless a value is there: None when written now, else
        the value written first (kept ``ttl_seconds``)."""
        ...

    def read(self, key: str) -> str | None:
        """The value under ``key`` until it expires, else None; writes nothing (a webhook
        asks whether the call's stream started anywhere)."""
        ...


class ConversationStore(Protocol):
    """Keeps one JSON-able tracker dict per conversation id (the CallSid).

    Methods are synchronous and quick; async callers run them in a worker thread so the
    event loop never waits on disk.
    """

    @property
    def claims(self) -> Claims | None:
        """The store's claims when several processes share it (Redis, PostgreSQL; SQLite by
        the processes of one machine): they make stream tokens single-use across instances.
        None for a store private to one process (memory)."""
        ...

    @property
    def ledger(self) -> Ledger:
        """The store's `Ledger`: shared wherever the store is (Redis, PostgreSQL; SQLite by
        the processes of one machine; memory by one process)."""
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
