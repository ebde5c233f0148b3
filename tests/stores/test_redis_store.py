"""RedisStore against a real Redis on 127.0.0.1:6379, configured as Rasa's ``tracker_store``.

Each test gets its own random ``key_prefix`` and deletes its keys afterwards; without the
``redis`` package or a reachable server the tests skip.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests import store_contract as contract

from telephonist.dialogue.project import Project
from telephonist.errors import ConfigError
from telephonist.stores import RedisStore, open_store

HOST, PORT = "127.0.0.1", 6379
SECRET = "pw-Zq81-never-shown"


@pytest.fixture
def redis_client() -> Iterator[Any]:
    """A raw client for checks and clean-up; skips when Redis is not available."""
    try:
        import redis
    except ImportError:
        pytest.skip("the redis package is not installed (pip install 'telephonist[redis]')")
    client = redis.Redis(host=HOST, port=PORT, socket_connect_timeout=2, decode_responses=True)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        pytest.skip(f"no Redis at {HOST}:{PORT}: {exc}")
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client: Any) -> Iterator[str]:
    """A key prefix private to this test; its keys are deleted afterwards."""
    value = "test" + uuid.uuid4().hex[:12]
    yield value
    keys = list(redis_client.scan_iter(f"{value}:*"))
    if keys:
        redis_client.delete(*keys)


def _spec(prefix: str, **extra: Any) -> dict[str, Any]:
    """A Rasa-style ``tracker_store`` block."""
    return {
        "type": "redis",
        "url": HOST,
        "port": PORT,
        "db": 0,
        "key_prefix": prefix,
        "use_ssl": False,
        **extra,
    }


@pytest.fixture
def store(prefix: str, tmp_path: Path) -> Iterator[RedisStore]:
    """A store opened through open_store, as endpoints.yml would."""
    opened = open_store(_spec(prefix), tmp_path)
    assert isinstance(opened, RedisStore)
    yield opened
    opened.close()


def test_round_trip_replace_and_unknown(store: RedisStore, redis_client: Any) -> None:
    """Saved trackers come back as copies; a save replaces; unknown ids are None."""
    assert store.load("CA-none") is None
    store.save("CA1", {"slots": {"a": 1}, "meta": {"path": Path("/x")}})
    loaded = store.load("CA1")
    assert loaded == {"slots": {"a": 1}, "meta": {"path": "/x"}}
    store.save("CA1", {"slots": {"a": 2}})
    assert store.load("CA1") == {"slots": {"a": 2}}
    assert redis_client.exists(f"{store.prefix}CA1") == 1
    assert store.prefix.endswith(":tracker:")


def test_list_is_most_recent_first_and_delete(store: RedisStore) -> None:
    contract.check_recency_and_delete(store)


def test_record_exp_expires_values_and_list_entries(
    prefix: str, tmp_path: Path, redis_client: Any
) -> None:
    """record_exp (fractions of a second allowed) expires trackers; list() drops them."""
    store = open_store(_spec(prefix, record_exp=0.3), tmp_path)
    assert isinstance(store, RedisStore)
    store.save("CA1", {"n": 1})
    assert 0 < redis_client.pttl(f"{store.prefix}CA1") <= 300
    assert store.list() == ["CA1"]
    time.sleep(0.6)
    store.save("CA2", {"n": 2})
    assert store.load("CA1") is None
    assert store.list() == ["CA2"]
    assert redis_client.zrange(store.index_key, 0, -1) == ["CA2"]  # cleaned, not just hidden
    assert store.delete("CA1") is False
    store.close()


def test_two_instances_share_conversations(store: RedisStore, prefix: str, tmp_path: Path) -> None:
    """Two stores (as two server processes) see each other's writes and deletes."""
    contract.check_shared_between_instances(store, open_store(_spec(prefix), tmp_path))


def test_concurrent_threads(store: RedisStore) -> None:
    contract.check_concurrent_saves(store)


def test_unreachable_server_is_a_config_error_without_the_password(tmp_path: Path) -> None:
    """A wrong port names endpoints.yml, tracker_store.url and host:port, never the password."""
    pytest.importorskip("redis", reason="the redis package is not installed")
    with pytest.raises(ConfigError) as caught:
        open_store({"type": "redis", "url": HOST, "port": 1, "password": SECRET}, tmp_path)
    assert caught.value.file == "endpoints.yml"
    assert caught.value.key == "tracker_store.url"
    assert f"{HOST}:1" in str(caught.value)
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value.__cause__)


def test_refused_login_names_the_password_key_not_its_value(
    redis_client: Any, tmp_path: Path
) -> None:
    """An unknown user/password pair is a ConfigError on tracker_store.password."""
    with pytest.raises(ConfigError) as caught:
        open_store(
            {
                "type": "redis",
                "url": HOST,
                "username": "nobody" + uuid.uuid4().hex[:6],
                "password": SECRET,
            },
            tmp_path,
        )
    assert caught.value.key == "tracker_store.password"
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"hots": HOST}, "tracker_store.hots"),
        ({"port": "six"}, "tracker_store.port"),
        ({"port": True}, "tracker_store.port"),
        ({"db": 1.5}, "tracker_store.db"),
        ({"use_ssl": "maybe"}, "tracker_store.use_ssl"),
        ({"record_exp": "soon"}, "tracker_store.record_exp"),
        ({"record_exp": 0}, "tracker_store.record_exp"),
        ({"key_prefix": "my-app"}, "tracker_store.key_prefix"),
        ({"password": ["x"]}, "tracker_store.password"),
        ({"port": 70000}, "tracker_store.port"),
    ],
)
def test_bad_blocks_name_the_key(
    extra: dict[str, Any], key: str, prefix: str, tmp_path: Path
) -> None:
    """Unknown keys, wrong types and out-of-range values are ConfigErrors naming the key."""
    with pytest.raises(ConfigError) as caught:
        open_store(_spec(prefix, **extra), tmp_path)
    assert caught.value.key == key
    assert caught.value.file == "endpoints.yml"


def test_rasa_block_with_interpolated_strings(prefix: str, tmp_path: Path) -> None:
    """${VAR} values arrive as strings: "6379", "0", "false", "60" and null are accepted."""
    store = open_store(
        {
            "type": "Redis",
            "url": HOST,
            "port": "6379",
            "db": "0",
            "use_ssl": "false",
            "record_exp": "60",
            "key_prefix": prefix,
            "password": None,
        },
        tmp_path,
    )
    assert isinstance(store, RedisStore)
    assert store.record_exp == 60.0 and store.prefix == f"{prefix}:tracker:"
    store.close()


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The starter project."""
    return contract.starter_project(tmp_path_factory.mktemp("starter"))


async def test_assistant_runs_on_redis(starter: Project, prefix: str, tmp_path: Path) -> None:
    """A conversation continues on a second assistant+store, as after a restart."""
    await contract.check_conversation_continues_on_a_new_store(
        starter, lambda: open_store(_spec(prefix), tmp_path)
    )


def test_survives_dropped_connections(store: RedisStore, redis_client: Any) -> None:
    """Connections closed by the server (restart, failover) are reopened."""
    store.save("CA1", {"n": 1})
    redis_client.client_kill_filter(_type="normal", skipme=True)
    assert store.load("CA1") == {"n": 1}


def test_missing_driver_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without redis-py, type: redis is a ConfigError with the pip command."""
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ConfigError, match=r"pip install 'telephonist\[redis\]'") as caught:
        open_store({"type": "redis", "url": HOST}, tmp_path)
    assert caught.value.file == "endpoints.yml"


def test_claim_once_is_first_come_across_instances(
    store: RedisStore, prefix: str, tmp_path: Path
) -> None:
    """The first claim of a key wins everywhere until it expires (single-use stream tokens)."""
    contract.check_claim_once(store, open_store(_spec(prefix), tmp_path))


def test_record_once_is_first_written_across_instances(
    store: RedisStore, prefix: str, tmp_path: Path
) -> None:
    """The first value of a ledger key is what every instance reads until it expires."""
    contract.check_record_once(store, open_store(_spec(prefix), tmp_path))


async def test_a_server_on_a_redis_store_claims_stream_tokens_there(
    prefix: str, tmp_path: Path
) -> None:
    """build_runtime wires the store's claim_once in, so tokens are single-use everywhere."""
    from telephonist.server.assembly import Paths, build_runtime

    project = tmp_path / "line"
    contract.starter_project(project)
    (project / "endpoints.yml").write_text(
        f"tracker_store:\n  type: redis\n  url: {HOST}\n  port: {PORT}\n  key_prefix: {prefix}\n"
    )
    runtime = build_runtime(Paths(project), environ={})
    assert runtime.claim is not None and runtime.claim("n1", 5) is True
    assert runtime.claim("n1", 5) is False
    await runtime.close()
