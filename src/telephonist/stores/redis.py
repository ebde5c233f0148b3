"""Trackers in Redis, configured like Rasa's ``RedisTrackerStore`` (``type: redis``).

Several Telephonist processes, on any number of machines, can share one Redis. Values live
under ``<key_prefix>:tracker:<id>`` (``tracker:<id>`` without a prefix), the keys Rasa uses;
a sorted set of update times beside them answers ``list()`` without scanning the keyspace.
A value and its sorted-set entry are always written in one MULTI/EXEC transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from telephonist.errors import ConfigError
from telephonist.stores.base import Claims, Ledger

if TYPE_CHECKING:
    import redis as redis_module

__all__ = ["RedisStore"]

_FILE = "endpoints.yml"
_HOST_ONLY = "must be a host name only (as in Rasa); port, db and use_ssl are separate keys"
_CHUNK = 500  # ids per EXISTS pipeline when list() drops expired conversations


def _import_redis() -> Any:
    """The ``redis`` package, imported only when a Redis store is configured."""
    try:
        import redis
    except ImportError:
        raise ConfigError(
            "type: redis needs the Redis client: pip install 'telephonist[redis]'",
            file=_FILE,
            key="tracker_store.type",
        ) from None
    return redis


def _scrub(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` masked, in case a driver ever echoes it."""
    return text.replace(secret, "***") if secret else text


class RedisStore:
    """Trackers as JSON strings; ``record_exp`` (seconds, fractions allowed) expires them."""

    def __init__(
        self,
        host: str = "localhost",
        port: int = 6379,
        db: int = 0,
        *,
        username: str | None = None,
        password: str | None = None,
        key_prefix: str | None = None,
        use_ssl: bool = False,
        ssl_keyfile: str | None = None,
        ssl_certfile: str | None = None,
        ssl_ca_certs: str | None = None,
        record_exp: float | None = None,
        socket_timeout: float = 10.0,
    ) -> None:
        _check("://" not in host and "@" not in host, "url", _HOST_ONLY)
        _check(0 < port < 65536, "port", "must be between 1 and 65535")
        _check(db >= 0, "db", "must be 0 or more")
        _check(record_exp is None or record_exp > 0, "record_exp", "must be more than 0 seconds")
        _check(
            not key_prefix or key_prefix.isalnum(),
            "key_prefix",
            "must be letters and digits only (as in Rasa)",
        )
        redis = _import_redis()
        self.host = host
        self.port = port
        base = f"{key_prefix}:" if key_prefix else ""
        self.prefix = f"{base}tracker:"
        self.index_key = f"{base}telephonist:updated"
        self.claim_prefix = f"{base}telephonist:claim:"
        self.record_exp = record_exp
        self._expiry_ms = None if record_exp is None else max(1, round(record_exp * 1000))
        self._redis = redis
        options: dict[str, Any] = {
            "host": host,
            "port": port,
            "db": db,
            "username": username,
            "password": password,
            "ssl": use_ssl,
            "ssl_keyfile": ssl_keyfile,
            "ssl_certfile": ssl_certfile,
            "ssl_ca_certs": ssl_ca_certs,
            "socket_connect_timeout": socket_timeout,
            "socket_timeout": socket_timeout,
            "decode_responses": True,
        }
        self._check_connection(options, password)
        # Runtime calls keep redis-py's default retries (a Redis restart is survivable).
        self._client: redis_module.Redis = redis.Redis(health_check_interval=30, **options)

    def _check_connection(self, options: dict[str, Any], password: str | None) -> None:
        """PING once, without retries, so a bad block fails fast with a clear message."""
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        probe = self._redis.Redis(retry=Retry(NoBackoff(), 0), **options)
        try:
            probe.ping()
        except self._redis.RedisError as exc:
            raise self._config_error(exc, password) from (
                None if password and password in str(exc) else exc
            )
        finally:
            probe.close()

    def _config_error(self, exc: Exception, password: str | None) -> ConfigError:
        """Name the key most likely at fault; host and port help, the password never."""
        redis = self._redis
        detail = _scrub(str(exc) or type(exc).__name__, password)
        if isinstance(exc, redis.AuthenticationError) or "NOAUTH" in detail:
            key = "password"
        elif "DB index" in detail:
            key = "db"
        else:
            key = "url"
        return ConfigError(
            f"cannot use Redis at {self.host}:{self.port}: {detail}",
            file=_FILE,
            key=f"tracker_store.{key}",
        )

    def _key(self, conversation_id: str) -> str:
        return self.prefix + conversation_id

    def load(self, conversation_id: str) -> dict[str, Any] | None:
        """The stored tracker, or None (also once it has expired)."""
        raw = self._client.get(self._key(conversation_id))
        return None if raw is None else dict(json.loads(str(raw)))

    def save(self, conversation_id: str, tracker: dict[str, Any]) -> None:
        """Replace the tracker and its update time in one transaction."""
        raw = json.dumps(tracker, default=str)
        with self._client.pipeline(transaction=True) as pipe:
            pipe.set(self._key(conversation_id), raw, px=self._expiry_ms)
            pipe.zadd(self.index_key, {conversation_id: time.time()})
            pipe.execute()

    def list(self) -> list[str]:
        """Conversation ids, most recently updated first; expired ones are left out."""
        ids = [str(i) for i in self._client.zrevrange(self.index_key, 0, -1)]
        gone: list[str] = []
        for chunk in _chunks(ids, _CHUNK):
            with self._client.pipeline(transaction=False) as pipe:
                for conversation_id in chunk:
                    pipe.exists(self._key(conversation_id))
                found = pipe.execute()
            gone.extend(i for i, n in zip(chunk, found, strict=True) if not n)
        if gone:
            self._forget(gone)
        missing = set(gone)
        return [i for i in ids if i not in missing]

    def _forget(self, gone: Sequence[str]) -> None:
        """Drop sorted-set entries whose value expired, unless one was saved again meanwhile.

        WATCH on the (absent) values aborts the removal if any of them is written before
        EXEC; a later ``list()`` then retries.
        """
        for chunk in _chunks(gone, _CHUNK):
            keys = [self._key(i) for i in chunk]
            with self._client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(*keys)  # type: ignore[no-untyped-call]
                    if pipe.exists(*keys):
                        continue
                    pipe.multi()
                    pipe.zrem(self.index_key, *chunk)
                    pipe.execute()
                except self._redis.WatchError:
                    continue

    def delete(self, conversation_id: str) -> bool:
        """Forget one conversation; True when it existed (and had not expired)."""
        with self._client.pipeline(transaction=True) as pipe:
            pipe.delete(self._key(conversation_id))
            pipe.zrem(self.index_key, conversation_id)
            removed, _ = pipe.execute()
        return bool(removed)

    @property
    def claims(self) -> Claims:
        """Shared by every instance using this Redis: it claims stream tokens itself."""
        return self

    def claim_once(self, key: str, ttl_seconds: float) -> bool:
        """True for the first claim of ``key`` across every instance sharing this Redis
        (until it expires); used for single-use stream tokens."""
        return bool(
            self._client.set(
                f"{self.claim_prefix}{key}", "1", nx=True, px=max(1, round(ttl_seconds * 1000))
            )
        )

    def claimed(self, key: str) -> bool:
        """Whether ``key`` holds an unexpired claim (read only)."""
        return bool(self._client.exists(f"{self.claim_prefix}{key}"))

    @property
    def ledger(self) -> Ledger:
        """Shared by every instance using this Redis (keys beside the claims')."""
        return self

    def record_once(self, key: str, value: str, ttl_seconds: float) -> str | None:
        """``value`` under ``key`` unless a value is there (then that one): SET NX and GET in
        one transaction."""
        with self._client.pipeline(transaction=True) as pipe:
            pipe.set(
                f"{self.claim_prefix}{key}", value, nx=True, px=max(1, round(ttl_seconds * 1000))
            )
            pipe.get(f"{self.claim_prefix}{key}")
            written, first = pipe.execute()
        return None if written else str(first)

    def read(self, key: str) -> str | None:
        """The value under ``key`` (Redis forgets it when it expires), or None."""
        value = self._client.get(f"{self.claim_prefix}{key}")
        return None if value is None else str(value)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def _check(ok: bool, key: str, message: str) -> None:
    """A ConfigError naming ``tracker_store.<key>`` unless ``ok``."""
    if not ok:
        raise ConfigError(message, file=_FILE, key=f"tracker_store.{key}")


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
