"""A store that keeps trackers in this process only (tests, ``shell``)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["MemoryLedger", "MemoryStore"]

MAX_RECORDS = 300_000
"""Beyond this many records (a few per call, some tens of MB), the oldest are forgotten."""


class MemoryLedger:
    """A `Ledger` private to this process (a memory store, or a server without a store)."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._records: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def record_once(self, key: str, value: str, ttl_seconds: float) -> str | None:
        """``value`` under ``key`` unless an unexpired value is there (then that one)."""
        now = self._now()
        with self._lock:
            first = self._records.get(key)
            if first is not None and first[1] > now:
                return first[0]
            self._records.pop(key, None)  # re-inserted last: the dict stays oldest first
            self._records[key] = (value, now + ttl_seconds)
            if len(self._records) > MAX_RECORDS:
                del self._records[next(iter(self._records))]
        return None

    def read(self, key: str) -> str | None:
        """The unexpired value under ``key``, or None."""
        with self._lock:
            found = self._records.get(key)
        return found[0] if found is not None and found[1] > self._now() else None


class MemoryStore:
    """Dict-backed store; values are copied in and out, as a real store would serialise."""

    claims = None
    """Private to this process: a stream token is single-use here already."""

    def __init__(self) -> None:
        self._data: dict[str, str] = {}
        self._order: dict[str, int] = {}
        self._clock = 0
        self._lock = threading.Lock()
        self.ledger = MemoryLedger()

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
