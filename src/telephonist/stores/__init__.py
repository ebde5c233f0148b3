"""Conversation stores: where trackers live between turns.

SQLite (default) and memory are built in; Redis and PostgreSQL take the same
``tracker_store`` blocks as Rasa's endpoints.yml and need an optional driver.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from telephonist.errors import ConfigError
from telephonist.stores.base import ConversationStore
from telephonist.stores.memory import MemoryStore
from telephonist.stores.sqlite import SQLiteStore

if TYPE_CHECKING:
    from telephonist.stores.postgres import PostgresStore
    from telephonist.stores.redis import RedisStore

__all__ = [
    "DEFAULT_SQLITE_PATH",
    "ConversationStore",
    "MemoryStore",
    "PostgresStore",
    "RedisStore",
    "SQLiteStore",
    "check_store_spec",
    "open_store",
]

DEFAULT_SQLITE_PATH = ".telephonist/conversations.sqlite3"
_FILE = "endpoints.yml"
_TYPES = "sqlite, memory, redis, or SQL with dialect sqlite or postgresql"

# Rasa's keys for each block (``url`` is the host), with the kind of value each takes.
_REDIS_KEYS = {
    "url": "text",
    "port": "int",
    "db": "int",
    "username": "text",
    "password": "text",
    "key_prefix": "text",
    "use_ssl": "bool",
    "record_exp": "number",
    "ssl_keyfile": "text",
    "ssl_certfile": "text",
    "ssl_ca_certs": "text",
}
_SQL_KEYS = {
    "dialect": "text",
    "url": "text",
    "port": "int",
    "db": "text",
    "username": "text",
    "password": "text",
    "login_db": "text",
    "query": "mapping",
}
_ARGS = {"url": "host"}  # endpoints.yml key -> constructor argument, where they differ


def __getattr__(name: str) -> Any:
    """Import the Redis/PostgreSQL stores on first use: their drivers are optional."""
    if name == "RedisStore":
        from telephonist.stores.redis import RedisStore

        return RedisStore
    if name == "PostgresStore":
        from telephonist.stores.postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_store(spec: str | Mapping[str, Any] | None, project_dir: Path) -> ConversationStore:
    """A store from ``endpoints.yml``'s ``tracker_store`` block (or a short string).

    ``None`` / ``"sqlite"`` / ``{type: sqlite, path: ...}`` → SQLite under ``project_dir``;
    ``"memory"`` / ``{type: memory}`` → in-process memory (lost on restart);
    ``{type: redis, ...}`` → Redis; ``{type: SQL, dialect: postgresql, ...}`` → PostgreSQL.
    """
    kind, options = check_store_spec(spec)
    if kind == "memory":
        return MemoryStore()
    if kind == "redis":
        from telephonist.stores.redis import RedisStore

        return RedisStore(**options)
    if kind == "postgresql":
        from telephonist.stores.postgres import PostgresStore

        return PostgresStore(**options)
    path = Path(str(options["path"]))
    return SQLiteStore(path if path.is_absolute() else project_dir / path)


def check_store_spec(spec: str | Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """Validate a ``tracker_store`` block without connecting anywhere (``telephonist check``
    uses it): which store (memory, sqlite, redis or postgresql) and its constructor
    arguments, or a `ConfigError` naming the key."""
    if spec is None or isinstance(spec, str):
        spec = {"type": spec or "sqlite"}
    kind = str(spec.get("type") or "sqlite").lower()
    dialect = str(spec.get("dialect") or "sqlite").lower()
    if kind in ("memory", "in_memory", "inmemory"):
        return "memory", {}
    if kind == "redis":
        return "redis", _options(spec, _REDIS_KEYS)
    if kind == "sql" and re.fullmatch(r"postgres(ql)?(\+\w+)?", dialect):
        options = _options(spec, _SQL_KEYS)
        options.pop("dialect", None)
        return "postgresql", options
    if kind in ("sqlite", "sql") and dialect == "sqlite":
        return "sqlite", {"path": spec.get("path") or spec.get("db") or DEFAULT_SQLITE_PATH}
    if kind == "sql":
        raise ConfigError(
            f"unsupported SQL dialect {dialect!r}; use sqlite or postgresql",
            file=_FILE,
            key="tracker_store.dialect",
        )
    raise ConfigError(
        f"unsupported store type {kind!r}; use {_TYPES}", file=_FILE, key="tracker_store.type"
    )


def _options(spec: Mapping[str, Any], kinds: Mapping[str, str]) -> dict[str, Any]:
    """Constructor arguments from a block: unknown keys and wrong types are errors.

    Values coming from ``${VAR}`` are strings, so ``"6379"`` is a valid port and
    ``"true"`` a valid flag. Messages never repeat a value (it may be a password).
    """
    options: dict[str, Any] = {}
    for raw_key, value in spec.items():
        key = str(raw_key)
        if key == "type":
            continue
        if key not in kinds:
            raise ConfigError(
                f"unknown key {key!r}; expected one of: type, {', '.join(kinds)}",
                file=_FILE,
                key=f"tracker_store.{key}",
            )
        if value is not None:
            options[_ARGS.get(key, key)] = _coerce(value, kinds[key], key)
    return options


def _coerce(value: Any, kind: str, key: str) -> Any:
    """``value`` as ``kind`` (text, int, number, bool or mapping), or a ConfigError."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    text = value.strip().lower() if isinstance(value, str) else None
    if kind == "text" and (isinstance(value, str) or (is_number and isinstance(value, int))):
        return str(value)
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "int" and text is not None and text.isdigit():
        return int(text)
    if kind == "number" and (is_number or (text and re.fullmatch(r"\d+(\.\d*)?|\.\d+", text))):
        return float(value)
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "bool" and text in ("true", "false", "yes", "no", "on", "off", "1", "0"):
        return text in ("true", "yes", "on", "1")
    if kind == "mapping" and isinstance(value, Mapping):
        return dict(value)
    wanted = {
        "text": "text",
        "int": "a whole number",
        "number": "a number of seconds",
        "bool": "true or false",
        "mapping": "a mapping",
    }[kind]
    raise ConfigError(
        f"must be {wanted}, not {type(value).__name__}", file=_FILE, key=f"tracker_store.{key}"
    )
