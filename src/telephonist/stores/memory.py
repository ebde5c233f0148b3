"""A store that keeps trackers in this process only (tests, ``shell``)."""

from __future__ import annotations

import json
import threading
from typing import Any

__all__ = ["MemoryStore"]


class MemoryStore:
    """Dict-backed store; values are copied in and out, as a real store would serialise."""

    claims = None
    """Private to this process: a stream token is single-use here already."""

    def __init__(self) -> None:
        self._data: dict[str, str] = {}
        self._order: dict[str, int] = {}
        self._clock = 0
        self._lock = threading.Lock()

    def load(self, conversation_id: str) -> dict[str, Any] | None:
        """The stored tracker, or None."""
        with self._lock:
            raw = self._data.get(conversation_id)
        return None if raw is None else dict(json.loads(raw))

    def save(self, conversation_id: str, tracker: dict[str, Any]) -> None:
        """Store a JSON copy of ``tracker``."""
        raw = json.dumps(tracker, default=str)
        with self._lock:
            self._clock += 1
            self._data[conversation_id] = raw
            self._order[conversation_id] = self._clock

    def list(self) -> list[str]:
        """Conversation ids, most recently saved first."""
        with self._lock:
            return sorted(self._data, key=lambda k: -self._order[k])

    def delete(self, conversation_id: str) -> bool:
        """Forget one conversation."""
        with self._lock:
            self._order.pop(conversation_id, None)
            return self._data.pop(conversation_id, None) is not None

    def close(self) -> None:
        """Nothing to release."""
