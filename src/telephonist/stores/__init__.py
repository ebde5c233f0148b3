"""Conversation stores: where trackers live between turns (memory, SQLite by default)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from telephonist.errors import ConfigError
from telephonist.stores.base import ConversationStore
from telephonist.stores.memory import MemoryStore
from telephonist.stores.sqlite import SQLiteStore

__all__ = ["DEFAULT_SQLITE_PATH", "ConversationStore", "MemoryStore", "SQLiteStore", "open_store"]

DEFAULT_SQLITE_PATH = ".telephonist/conversations.sqlite3"


def open_store(spec: str | Mapping[str, Any] | None, project_dir: Path) -> ConversationStore:
    """A store from ``endpoints.yml``'s ``tracker_store`` block (or a short string).

    ``None`` / ``"sqlite"`` / ``{type: sqlite, path: ...}`` → SQLite under ``project_dir``;
    ``"memory"`` / ``{type: memory}`` → in-process memory (lost on restart).
    """
    if spec is None or isinstance(spec, str):
        spec = {"type": spec or "sqlite"}
    kind = str(spec.get("type") or "sqlite").lower()
    if kind in ("memory", "in_memory", "inmemory"):
        return MemoryStore()
    if kind in ("sqlite", "sql") and spec.get("dialect", "sqlite") == "sqlite":
        raw = spec.get("path") or spec.get("db") or DEFAULT_SQLITE_PATH
        path = Path(str(raw))
        return SQLiteStore(path if path.is_absolute() else project_dir / path)
    raise ConfigError(
        f"unsupported store type {kind!r}; use sqlite or memory",
        file="endpoints.yml",
        key="tracker_store.type",
    )
