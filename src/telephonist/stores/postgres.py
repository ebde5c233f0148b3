"""Trackers in PostgreSQL, configured like Rasa's ``SQLTrackerStore`` (``type: SQL``,
``dialect: postgresql``), through the pure-Python pg8000 driver.

pg8000 connections are not thread-safe, so the store keeps a small pool: a thread takes an
idle connection (or opens one), runs one autocommitted statement and puts it back. Every
write is a single upsert and update times come from the server's clock, so several
processes on several machines can share the table and still agree on ``list()`` order.
"""

from __future__ import annotations

import getpass
import json
import random
import ssl
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from telephonist.errors import ConfigError
from telephonist.stores.base import Claims, Ledger

__all__ = ["PostgresStore"]

_FILE = "endpoints.yml"
_TABLE = "telephonist_conversations"
_CLAIMS = "telephonist_claims"
_LEDGER = "telephonist_ledger"
_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {_TABLE} ("
    "id TEXT PRIMARY KEY, tracker TEXT NOT NULL, updated_at DOUBLE PRECISION NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS {_TABLE}_updated ON {_TABLE} (updated_at)",
    f"CREATE TABLE IF NOT EXISTS {_CLAIMS} (key TEXT PRIMARY KEY, "
    "expires_at DOUBLE PRECISION NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {_LEDGER} (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
    "expires_at DOUBLE PRECISION NOT NULL)",
)
_NOW = "EXTRACT(EPOCH FROM clock_timestamp())::DOUBLE PRECISION"
_UPSERT = (
    f"INSERT INTO {_TABLE} (id, tracker, updated_at) VALUES (:id, :tracker, {_NOW}) "
    "ON CONFLICT (id) DO UPDATE SET tracker = EXCLUDED.tracker, updated_at = EXCLUDED.updated_at"
)
# libpq's sslmode values; pg8000's ssl_context False = never, None = try and fall back.
_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_QUERY_KEYS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name")
# SQLSTATE classes -> the endpoints.yml key to blame.
_AUTH_STATES = ("28000", "28P01")
_ALREADY_THERE = ("42P04", "42P07", "23505")  # duplicate database / table, racing creator


def _import_pg8000() -> Any:
    """``pg8000.native``, imported only when a PostgreSQL store is configured."""
    try:
        import pg8000.native
    except ImportError:
        raise ConfigError(
            "dialect: postgresql needs the pg8000 driver: pip install 'telephonist[postgres]'",
            file=_FILE,
            key="tracker_store.dialect",
        ) from None
    return pg8000.native


def _quote(identifier: str) -> str:
    """A double-quoted SQL identifier (database names cannot be bound parameters)."""
    return '"' + identifier.replace('"', '""') + '"'


def _ssl_context(query: Mapping[str, Any]) -> ssl.SSLContext | bool | None:
    """pg8000's ``ssl_context`` for libpq-style ``query`` options; the default is ``prefer``.

    ``require`` encrypts without checking the certificate (as libpq does unless
    ``sslrootcert`` is given); ``verify-ca`` checks the chain; ``verify-full`` also the host.
    """
    mode = str(query.get("sslmode") or "prefer").lower()
    if mode not in _SSLMODES:
        raise ConfigError(
            f"unsupported sslmode {mode!r}; use one of {', '.join(_SSLMODES)}",
            file=_FILE,
            key="tracker_store.query.sslmode",
        )
    root, cert, key = (query.get(k) for k in ("sslrootcert", "sslcert", "sslkey"))
    if mode in ("disable", "allow"):
        return False
    if mode == "prefer" and not cert:
        return None
    if mode in ("prefer", "require") and not root:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        try:
            context = ssl.create_default_context(cafile=str(root) if root else None)
        except OSError as exc:
            raise ConfigError(
                f"cannot read sslrootcert: {exc.strerror}",
                file=_FILE,
                key="tracker_store.query.sslrootcert",
            ) from None
        context.check_hostname = mode == "verify-full"
    if cert:
        try:
            context.load_cert_chain(str(cert), str(key) if key else None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cannot load the client certificate: {exc}",
                file=_FILE,
                key="tracker_store.query.sslcert",
            ) from None
    return context


class PostgresStore:
    """One row per conversation in ``telephonist_conversations`` (created if missing)."""

    def __init__(
        self,
        host: str = "localhost",
        port: int = 5432,
        db: str = "rasa",
        *,
        username: str | None = None,
        password: str | None = None,
        login_db: str | None = None,
        query: Mapping[str, Any] | None = None,
        timeout: float = 10.0,
        max_idle: int = 8,
    ) -> None:
        if "://" in host or "@" in host:
            raise ConfigError(
                "must be a host name only (as in Rasa); port, db and username are separate keys",
                file=_FILE,
                key="tracker_store.url",
            )
        if not 0 < port < 65536:
            raise ConfigError("must be between 1 and 65535", file=_FILE, key="tracker_store.port")
        query = dict(query or {})
        for name in query:
            if name not in _QUERY_KEYS:
                raise ConfigError(
                    f"unsupported query option {name!r}; use {', '.join(_QUERY_KEYS)}",
                    file=_FILE,
                    key=f"tracker_store.query.{name}",
                )
        self._driver = _import_pg8000()
        self.host = host
        self.port = port
        self.db = db
        self.max_idle = max_idle
        self._password = password
        self._connect_args: dict[str, Any] = {
            "user": username or _os_user(),
            "host": host,
            "port": port,
            "password": password,
            "ssl_context": _ssl_context(query),
            "timeout": float(query.get("connect_timeout") or timeout),
            "application_name": str(query.get("application_name") or "telephonist"),
        }
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._closed = False
        if login_db:
            self._create_database(login_db)
        self._setup()

    def _open(self, database: str) -> Any:
        return self._driver.Connection(database=database, **self._connect_args)

    def _connect(self, database: str, key: str = "url") -> Any:
        """A first connection to ``database``; failures become ConfigErrors naming ``key``."""
        try:
            return self._open(database)
        except Exception as exc:
            raise self._config_error(exc, key) from None

    def _config_error(self, exc: Exception, key: str) -> ConfigError:
        """Host, port and the server's reason, never the password."""
        detail = str(_fields(exc).get("M") or exc or type(exc).__name__)
        code = _state(exc)
        if code in _AUTH_STATES:
            key = "password" if "password" in detail else "username"
        elif code == "3D000":
            key = "db"
        elif code == "42501":
            key = "username"
        elif "SSL" in detail:
            key = "query.sslmode"
        if self._password:
            detail = detail.replace(self._password, "***")
        return ConfigError(
            f"cannot use PostgreSQL at {self.host}:{self.port}: {detail}",
            file=_FILE,
            key=f"tracker_store.{key}",
        )

    def _create_database(self, login_db: str) -> None:
        """Rasa's ``login_db``: connect there and create ``db`` if it does not exist.

        CREATE DATABASE cannot run in a transaction; pg8000's native API autocommits.
        """
        conn = self._connect(login_db, key="login_db")
        try:
            found = conn.run("SELECT 1 FROM pg_database WHERE datname = :name", name=self.db)
            if not found:
                conn.run(f"CREATE DATABASE {_quote(self.db)}")
        except self._driver.DatabaseError as exc:
            if _state(exc) not in _ALREADY_THERE:
                raise self._config_error(exc, "db") from None
        finally:
            conn.close()

    def _setup(self) -> None:
        """Create the table and index if missing (another process may race us: fine)."""
        conn = self._connect(self.db)
        try:
            for statement in _SCHEMA:
                try:
                    conn.run(statement)
                except self._driver.DatabaseError as exc:
                    if _state(exc) not in _ALREADY_THERE:
                        raise self._config_error(exc, "db") from None
        except BaseException:
            conn.close()
            raise
        self._release(conn)

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """An exclusive connection; one that failed at the network level is not reused."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the conversation store is closed")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._open(self.db)
        try:
            yield conn
        except Exception as exc:
            if not self._is_dead(exc):
                self._release(conn)  # a failed statement leaves the connection usable
                raise
            _close_quietly(conn)
            with self._lock:  # the server probably restarted: the idle ones are stale too
                stale, self._idle = self._idle, []
            for other in stale:
                _close_quietly(other)
            raise
        self._release(conn)

    def _is_dead(self, exc: BaseException) -> bool:
        """True for errors after which a connection cannot be used again."""
        if isinstance(exc, self._driver.InterfaceError | OSError):
            return True
        severity = _fields(exc).get("S") if isinstance(exc, self._driver.DatabaseError) else None
        return severity in ("FATAL", "PANIC")

    def _release(self, conn: Any) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.max_idle:
                self._idle.append(conn)
                return
        _close_quietly(conn)

    def _run(self, sql: str, **params: Any) -> tuple[list[Any], int]:
        """Rows and row count of one statement; retried once on a stale pooled connection."""
        for attempt in (1, 2):
            try:
                with self._connection() as conn:
                    rows = conn.run(sql, **params)
                    return list(rows or []), int(conn.row_count or 0)
            except Exception as exc:
                if attempt == 2 or not self._is_dead(exc):
                    raise
        raise AssertionError("unreachable")

    def load(self, conversation_id: str) -> dict[str, Any] | None:
        """The stored tracker, or None."""
        rows, _ = self._run(f"SELECT tracker FROM {_TABLE} WHERE id = :id", id=conversation_id)
        return dict(json.loads(rows[0][0])) if rows else None

    def save(self, conversation_id: str, tracker: dict[str, Any]) -> None:
        """Insert or replace the tracker (one atomic upsert)."""
        self._run(_UPSERT, id=conversation_id, tracker=json.dumps(tracker, default=str))

    def list(self) -> list[str]:
        """Conversation ids, most recently updated first."""
        rows, _ = self._run(f"SELECT id FROM {_TABLE} ORDER BY updated_at DESC, id")
        return [str(row[0]) for row in rows]

    def delete(self, conversation_id: str) -> bool:
        """Forget one conversation."""
        _, count = self._run(f"DELETE FROM {_TABLE} WHERE id = :id", id=conversation_id)
        return count > 0

    @property
    def claims(self) -> Claims:
        """Shared by every instance using this database: it claims stream tokens itself."""
        return self

    def claim_once(self, key: str, ttl_seconds: float) -> bool:
        """True for the first claim of ``key`` across every instance sharing this database
        (until it expires); used for single-use stream tokens."""
        rows, _ = self._run(
            f"INSERT INTO {_CLAIMS} (key, expires_at) VALUES (:key, {_NOW} + :ttl) "
            f"ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at "
            f"WHERE {_CLAIMS}.expires_at < {_NOW} RETURNING key",
            key=key,
            ttl=ttl_seconds,
        )
        if rows:  # now and then, forget claims long expired
            self._run(f"DELETE FROM {_CLAIMS} WHERE expires_at < {_NOW} - 3600 AND random() < 0.01")
        return bool(rows)

    def claimed(self, key: str) -> bool:
        """Whether ``key`` holds an unexpired claim (read only)."""
        rows, _ = self._run(
            f"SELECT 1 FROM {_CLAIMS} WHERE key = :key AND expires_at >= {_NOW}", key=key
        )
        return bool(rows)

    @property
    def ledger(self) -> Ledger:
        """Shared by every instance using this database."""
        return self

    def record_once(self, key: str, value: str, ttl_seconds: float) -> str | None:
        """``value`` under ``key`` unless an unexpired value is there (then that one)."""
        rows, _ = self._run(
            f"INSERT INTO {_LEDGER} (key, value, expires_at) VALUES (:key, :value, {_NOW} + :ttl) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "
            f"expires_at = EXCLUDED.expires_at WHERE {_LEDGER}.expires_at < {_NOW} RETURNING key",
            key=key,
            value=value,
            ttl=ttl_seconds,
        )
        if rows:
            if random.random() < 0.01:  # now and then, forget records long expired
                self._run(f"DELETE FROM {_LEDGER} WHERE expires_at < {_NOW} - 3600")
            return None
        first, _ = self._run(f"SELECT value FROM {_LEDGER} WHERE key = :key", key=key)
        return str(first[0][0]) if first else value

    def read(self, key: str) -> str | None:
        """The unexpired value under ``key``, or None."""
        rows, _ = self._run(
            f"SELECT value FROM {_LEDGER} WHERE key = :key AND expires_at >= {_NOW}", key=key
        )
        return str(rows[0][0]) if rows else None

    def close(self) -> None:
        """Close idle connections; ones in use are closed when returned."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            _close_quietly(conn)


def _os_user() -> str:
    """libpq's default role: the operating-system user ("postgres" if there is none)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "postgres"


def _fields(exc: BaseException) -> Mapping[str, Any]:
    """The server's error fields (S severity, C SQLSTATE, M message) of a pg8000 error."""
    return exc.args[0] if exc.args and isinstance(exc.args[0], Mapping) else {}


def _state(exc: BaseException) -> str:
    """The SQLSTATE of a pg8000 DatabaseError ('' when unknown)."""
    return str(_fields(exc).get("C", ""))


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception:  # the connection is being thrown away anyway
        pass
