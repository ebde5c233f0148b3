"""The default store: one SQLite file (WAL mode), safe for several threads and processes.

Each thread gets its own connection; writes are single-statement upserts, so concurrent
writers (threads or other Telephonist processes on the same file) serialise on SQLite's
lock with a busy timeout instead of failing.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from telephonist.errors import ConfigError
from telephonist.stores.base import Claims, Ledger

__all__ = ["SQLiteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    tracker TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_updated ON conversations (updated_at);
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""


class SQLiteStore:
    """Trackers as JSON text, one row per conversation."""

    def __init__(self, path: Path, busy_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._create(self._connection())
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"cannot open conversation store {self.path}: {exc}",
                file="endpoints.yml",
                key="tracker_store.path",
            ) from exc

    def _create(self, conn: sqlite3.Connection) -> None:
        """WAL mode and the tables. Several processes may do this at once (``run --workers``
        on a new file): switching to WAL and upgrading a read lock to a write lock can fail
        at once with "database is locked" instead of waiting (SQLite's deadlock rule), so the
        tables are made in one ``BEGIN IMMEDIATE`` and a locked attempt is tried again until
        ``busy_timeout``."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")
                return
            except sqlite3.OperationalError as exc:
                if conn.in_transaction:
                    conn.rollback()
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)  # start-up only: another process is creating the file

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def load(self, conversation_id: str) -> dict[str, Any] | None:
        """The stored tracker, or None."""
        row = (
            self._connection()
            .execute("SELECT tracker FROM conversations WHERE id = ?", (conversation_id,))
            .fetchone()
        )
        return None if row is None else dict(json.loads(row[0]))

    def save(self, conversation_id: str, tracker: dict[str, Any]) -> None:
        """Insert or replace the tracker (one atomic statement)."""
        self._connection().execute(
            "INSERT INTO conversations (id, tracker, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET tracker = excluded.tracker, "
            "updated_at = excluded.updated_at",
            (conversation_id, json.dumps(tracker, default=str), time.time()),
        )

    def list(self) -> list[str]:
        """Conversation ids, most recently updated first."""
        rows = (
            self._connection()
            .execute("SELECT id FROM conversations ORDER BY updated_at DESC, id")
            .fetchall()
        )
        return [str(r[0]) for r in rows]

    def delete(self, conversation_id: str) -> bool:
        """Forget one conversation."""
        cursor = self._connection().execute(
            "DELETE FROM conversations WHERE id = ?", (conversation_id,)
        )
        return cursor.rowcount > 0

    @property
    def claims(self) -> Claims:
        """Shared by the processes of this machine that use the same file (the workers of
        ``telephonist run --workers N``): a call's stream starts once, on whichever worker."""
        return self

    def claim_once(self, key: str, ttl_seconds: float) -> bool:
        """True for the first claim of ``key`` by any process on this file, until it
        expires. One upsert: SQLite's write lock makes the first writer the only winner."""
        now = time.time()
        conn = self._connection()
        won = conn.execute(
            "INSERT INTO claims (key, expires_at) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET expires_at = excluded.expires_at "
            "WHERE claims.expires_at < ?",
            (key, now + ttl_seconds, now),
        ).rowcount
        if won and random.random() < 0.01:  # now and then, forget claims long expired
            conn.execute("DELETE FROM claims WHERE expires_at < ?", (now - 3600,))
        return bool(won)

    def claimed(self, key: str) -> bool:
        """Whether ``key`` holds an unexpired claim (read only: claims nothing)."""
        row = (
            self._connection()
            .execute("SELECT 1 FROM claims WHERE key = ? AND expires_at >= ?", (key, time.time()))
            .fetchone()
        )
        return row is not None

    @property
    def ledger(self) -> Ledger:
        """Shared by the processes of this machine that use the same file."""
        return self

    def record_once(self, key: str, value: str, ttl_seconds: float) -> str | None:
        """``value`` under ``key`` unless an unexpired value is there (then that one)."""
        now = time.time()
        conn = self._connection()
        written = conn.execute(
            "INSERT INTO ledger (key, value, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
            "expires_at = excluded.expires_at WHERE ledger.expires_at < ?",
            (key, value, now + ttl_seconds, now),
        ).rowcount
        if written:
            if random.random() < 0.01:  # now and then, forget records long expired
                conn.execute("DELETE FROM ledger WHERE expires_at < ?", (now - 3600,))
            return None
        row = conn.execute("SELECT value FROM ledger WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row is not None else value

    def read(self, key: str) -> str | None:
        """The unexpired value under ``key``, or None."""
        row = (
            self._connection()
            .execute(
                "SELECT value FROM ledger WHERE key = ? AND expires_at >= ?", (key, time.time())
            )
            .fetchone()
        )
        return None if row is None else str(row[0])

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
