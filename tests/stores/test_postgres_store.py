"""PostgresStore against a real PostgreSQL on 127.0.0.1:5432, configured as Rasa's
``tracker_store: {type: SQL, dialect: postgresql}``.

This module creates its own database through ``login_db: postgres`` (the Rasa feature under
test) and drops it at the end; without pg8000 or a reachable server the tests skip.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests import store_contract as contract

from telephonist.dialogue.project import Project
from telephonist.errors import ConfigError
from telephonist.stores import PostgresStore, open_store

HOST, PORT, USER = "127.0.0.1", 5432, "postgres"
SECRET = "pw-Xk27-never-shown"


@pytest.fixture(scope="module")
def admin() -> Iterator[Any]:
    """A pg8000 connection to the ``postgres`` database; skips when unavailable."""
    try:
        import pg8000.native
    except ImportError:
        pytest.skip("pg8000 is not installed (pip install 'telephonist[postgres]')")
    try:
        conn = pg8000.native.Connection(USER, host=HOST, port=PORT, database="postgres", timeout=3)
    except Exception as exc:
        pytest.skip(f"no PostgreSQL at {HOST}:{PORT} for user {USER}: {exc}")
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def database(admin: Any) -> Iterator[str]:
    """A database name private to this module; the first store creates it (login_db)."""
    name = "telephonist_test_" + uuid.uuid4().hex[:10]
    yield name
    admin.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _spec(database: str, **extra: Any) -> dict[str, Any]:
    """A Rasa-style ``tracker_store`` block."""
    return {
        "type": "SQL",
        "dialect": "postgresql",
        "url": HOST,
        "port": PORT,
        "db": database,
        "username": USER,
        "login_db": "postgres",
        **extra,
    }


@pytest.fixture
def store(database: str, tmp_path: Path) -> Iterator[PostgresStore]:
    """An empty store opened through open_store, as endpoints.yml would."""
    opened = open_store(_spec(database), tmp_path)
    assert isinstance(opened, PostgresStore)
    for conversation_id in opened.list():
        opened.delete(conversation_id)
    yield opened
    opened.close()


def test_login_db_creates_the_database_once(admin: Any, database: str, tmp_path: Path) -> None:
    """With login_db the database is created if missing; reopening does not fail."""
    open_store(_spec(database), tmp_path).close()
    rows = admin.run("SELECT 1 FROM pg_database WHERE datname = :name", name=database)
    assert rows == [[1]]
    open_store(_spec(database), tmp_path).close()


def test_round_trip_replace_and_unknown(store: PostgresStore) -> None:
    """Saved trackers come back as copies; a save replaces; unknown ids are None."""
    assert store.load("CA-none") is None
    store.save("CA1", {"slots": {"a": 1}, "meta": {"path": Path("/x")}})
    assert store.load("CA1") == {"slots": {"a": 1}, "meta": {"path": "/x"}}
    store.save("CA1", {"slots": {"a": 2}, "text": "Zoë's ☎ call"})
    assert store.load("CA1") == {"slots": {"a": 2}, "text": "Zoë's ☎ call"}
    assert store.list() == ["CA1"]


def test_list_is_most_recent_first_and_delete(store: PostgresStore) -> None:
    contract.check_recency_and_delete(store)


def test_two_instances_share_conversations(
    store: PostgresStore, database: str, tmp_path: Path
) -> None:
    """Two stores (as two server processes) see each other's writes and deletes."""
    contract.check_shared_between_instances(
        store,
        open_store(
            {"type": "sql", "dialect": "postgres", "url": HOST, "db": database, "username": USER},
            tmp_path,
        ),
    )


def test_concurrent_threads(store: PostgresStore) -> None:
    contract.check_concurrent_saves(store)


def test_unreachable_server_is_a_config_error_without_the_password(
    admin: Any, tmp_path: Path
) -> None:
    """A wrong port names endpoints.yml, tracker_store.url and host:port, never the password."""
    with pytest.raises(ConfigError) as caught:
        open_store(
            {
                "type": "SQL",
                "dialect": "postgresql",
                "url": HOST,
                "port": 1,
                "username": USER,
                "password": SECRET,
            },
            tmp_path,
        )
    assert caught.value.file == "endpoints.yml"
    assert caught.value.key == "tracker_store.url"
    assert f"{HOST}:1" in str(caught.value)
    assert SECRET not in str(caught.value) and caught.value.__cause__ is None


def test_missing_database_without_login_db_names_db(admin: Any, tmp_path: Path) -> None:
    """Without login_db a missing database is not created: tracker_store.db is at fault."""
    spec = _spec("telephonist_absent_" + uuid.uuid4().hex[:8], password=SECRET)
    del spec["login_db"]
    with pytest.raises(ConfigError) as caught:
        open_store(spec, tmp_path)
    assert caught.value.key == "tracker_store.db"
    assert "does not exist" in str(caught.value) and SECRET not in str(caught.value)


def test_unknown_role_names_username(admin: Any, database: str, tmp_path: Path) -> None:
    """A role the server does not know is blamed on tracker_store.username."""
    with pytest.raises(ConfigError) as caught:
        open_store(_spec(database, username="nobody_" + uuid.uuid4().hex[:6]), tmp_path)
    assert caught.value.key == "tracker_store.username"


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"hots": HOST}, "tracker_store.hots"),
        ({"port": "five"}, "tracker_store.port"),
        ({"port": 0}, "tracker_store.port"),
        ({"db": ["x"]}, "tracker_store.db"),
        ({"query": "sslmode=require"}, "tracker_store.query"),
        ({"query": {"sslmode": "sometimes"}}, "tracker_store.query.sslmode"),
        ({"query": {"sslfactory": "x"}}, "tracker_store.query.sslfactory"),
        ({"url": "postgresql://user:pw@localhost/rasa"}, "tracker_store.url"),
        ({"dialect": "oracle"}, "tracker_store.dialect"),
    ],
)
def test_bad_blocks_name_the_key(
    extra: dict[str, Any], key: str, admin: Any, database: str, tmp_path: Path
) -> None:
    """Unknown keys, wrong types and unsupported values are ConfigErrors naming the key."""
    with pytest.raises(ConfigError) as caught:
        open_store(_spec(database, **extra), tmp_path)
    assert caught.value.key == key
    assert caught.value.file == "endpoints.yml"
    assert "pw@" not in str(caught.value)


def test_rasa_block_with_interpolated_strings_and_query(database: str, tmp_path: Path) -> None:
    """${VAR} values arrive as strings; sslmode disable/prefer and null keys are accepted."""
    for sslmode in ("disable", "prefer"):
        store = open_store(
            _spec(
                database,
                port=str(PORT),
                password=None,
                query={"sslmode": sslmode, "connect_timeout": 5},
            ),
            tmp_path,
        )
        assert isinstance(store, PostgresStore)
        store.save("CA-q", {"ok": sslmode})
        assert store.load("CA-q") == {"ok": sslmode}
        store.delete("CA-q")
        store.close()


def test_unsupported_type_lists_every_type(tmp_path: Path) -> None:
    """The error for an unknown type tells the user every choice."""
    with pytest.raises(ConfigError, match=r"sqlite, memory, redis.*postgresql") as caught:
        open_store({"type": "mongod"}, tmp_path)
    assert caught.value.key == "tracker_store.type"


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The starter project."""
    return contract.starter_project(tmp_path_factory.mktemp("starter"))


async def test_assistant_runs_on_postgres(
    starter: Project, store: PostgresStore, database: str, tmp_path: Path
) -> None:
    """A conversation continues on a second assistant+store, as after a restart."""
    await contract.check_conversation_continues_on_a_new_store(
        starter, lambda: open_store(_spec(database), tmp_path)
    )


def test_survives_dropped_connections(store: PostgresStore, admin: Any, database: str) -> None:
    """Pooled connections killed by the server (restart, failover) are replaced."""
    store.save("CA1", {"n": 1})
    store.load("CA1")
    admin.run(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = :name AND pid <> pg_backend_pid()",
        name=database,
    )
    assert store.load("CA1") == {"n": 1}
    store.save("CA1", {"n": 2})
    assert store.list() == ["CA1"]


def test_missing_driver_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without pg8000, dialect: postgresql is a ConfigError with the pip command."""
    monkeypatch.setitem(sys.modules, "pg8000", None)
    monkeypatch.setitem(sys.modules, "pg8000.native", None)
    with pytest.raises(ConfigError, match=r"pip install 'telephonist\[postgres\]'") as caught:
        open_store({"type": "SQL", "dialect": "postgresql", "url": HOST}, tmp_path)
    assert caught.value.file == "endpoints.yml"


def test_claim_once_is_first_come_across_instances(
    store: PostgresStore, database: str, tmp_path: Path
) -> None:
    """The first claim of a key wins everywhere until it expires (single-use stream tokens)."""
    contract.check_claim_once(store, open_store(_spec(database), tmp_path))


def test_record_once_is_first_written_across_instances(
    store: PostgresStore, database: str, tmp_path: Path
) -> None:
    """The first value of a ledger key is what every instance reads until it expires."""
    contract.check_record_once(store, open_store(_spec(database), tmp_path))
