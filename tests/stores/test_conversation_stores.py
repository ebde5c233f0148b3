"""Conversation stores: memory and SQLite behave the same; SQLite survives restarts and
concurrent writers."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from tests import store_contract as contract

from telephonist.errors import ConfigError
from telephonist.stores import ConversationStore, MemoryStore, SQLiteStore, open_store


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ConversationStore:
    """Each store implementation."""
    if request.param == "memory":
        return MemoryStore()
    return SQLiteStore(tmp_path / "c.sqlite3")


def test_round_trip_list_delete(store: ConversationStore) -> None:
    """save/load/list/delete work and load returns a copy."""
    assert store.load("CA1") is None
    store.save("CA1", {"slots": {"a": 1}})
    store.save("CA2", {"slots": {}})
    loaded = store.load("CA1")
    assert loaded == {"slots": {"a": 1}}
    assert loaded is not None
    loaded["slots"]["a"] = 2
    assert store.load("CA1") == {"slots": {"a": 1}}
    assert set(store.list()) == {"CA1", "CA2"}
    store.save("CA1", {"slots": {"a": 3}})
    assert store.list()[0] == "CA1"
    assert store.delete("CA2") is True
    assert store.delete("CA2") is False
    assert store.list() == ["CA1"]
    store.close()


def test_sqlite_ledger_is_shared_by_stores_on_one_file(tmp_path: Path) -> None:
    """Two stores on one SQLite file (two processes of one machine) share the ledger."""
    path = tmp_path / "c.sqlite3"
    contract.check_record_once(SQLiteStore(path), SQLiteStore(path))


def test_sqlite_claims_are_shared_by_stores_on_one_file(tmp_path: Path) -> None:
    """Two stores on one SQLite file (two workers of one machine) share first-come claims."""
    path = tmp_path / "c.sqlite3"
    store = SQLiteStore(path)
    assert store.claims is store
    contract.check_claim_once(store, SQLiteStore(path))


def _process_claimer(path: str, key: str, won: Any) -> None:
    store = SQLiteStore(Path(path))
    if store.claim_once(key, 60):
        with won.get_lock():
            won.value += 1
    store.close()


def test_sqlite_claim_has_one_winner_among_processes(tmp_path: Path) -> None:
    """Processes racing for one key on one file: exactly one wins it."""
    path = tmp_path / "c.sqlite3"
    SQLiteStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    won = ctx.Value("i", 0)
    procs = [
        ctx.Process(target=_process_claimer, args=(str(path), "stream:CA1", won)) for _ in range(4)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert won.value == 1


def _process_opener(folder: str, rounds: int, start: Any, failed: Any) -> None:
    for n in range(rounds):
        start.wait(30)
        try:
            SQLiteStore(Path(folder) / f"new-{n}.sqlite3").close()
        except ConfigError:
            with failed.get_lock():
                failed.value += 1


def test_processes_creating_one_new_file_at_once_all_open_it(tmp_path: Path) -> None:
    """``run --workers N`` on a fresh project: N processes create the store's file at the
    same moment; none is refused with "database is locked" (SQLite's deadlock rule makes a
    plain lock upgrade fail at once, so creation takes its write lock up front)."""
    ctx = multiprocessing.get_context("spawn")
    start, failed = ctx.Barrier(4), ctx.Value("i", 0)
    procs = [
        ctx.Process(target=_process_opener, args=(str(tmp_path), 12, start, failed))
        for _ in range(4)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert failed.value == 0


def test_memory_store_has_no_shared_claims() -> None:
    """A memory store is private to its process: it offers no claims to share."""
    assert MemoryStore().claims is None


def test_memory_ledger_keeps_the_first_value() -> None:
    """A memory store's ledger keeps the first value of a key until it expires."""
    store = MemoryStore()
    contract.check_record_once(store, store)


def test_sqlite_survives_reopen_and_uses_wal(tmp_path: Path) -> None:
    """Data written by one store object is read by a new one; the file is in WAL mode."""
    path = tmp_path / "sub" / "c.sqlite3"
    first = SQLiteStore(path)
    first.save("CA1", {"events": [1, 2, 3]})
    first.close()
    second = SQLiteStore(path)
    assert second.load("CA1") == {"events": [1, 2, 3]}
    second.close()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_sqlite_concurrent_threads(tmp_path: Path) -> None:
    """Many threads writing different conversations lose nothing."""
    store = SQLiteStore(tmp_path / "c.sqlite3")

    def writer(n: int) -> None:
        for i in range(20):
            store.save(f"T{n}-{i}", {"n": n, "i": i})

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.list()) == 160
    assert store.load("T7-19") == {"n": 7, "i": 19}
    store.close()


def _process_writer(path: str, n: int) -> None:
    store = SQLiteStore(Path(path))
    for i in range(25):
        store.save(f"P{n}-{i}", {"n": n})
        store.save("shared", {"last": n})
    store.close()


def test_sqlite_concurrent_processes(tmp_path: Path) -> None:
    """Several processes writing the same file (as several server instances would) all land."""
    path = tmp_path / "c.sqlite3"
    SQLiteStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_process_writer, args=(str(path), n)) for n in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    store = SQLiteStore(path)
    assert len(store.list()) == 101
    store.close()


def test_open_store_specs(tmp_path: Path) -> None:
    """open_store understands None, strings and endpoints.yml mappings; rejects unknown types."""
    default = open_store(None, tmp_path)
    assert isinstance(default, SQLiteStore)
    assert default.path == tmp_path / ".telephonist" / "conversations.sqlite3"
    default.close()
    assert isinstance(open_store("memory", tmp_path), MemoryStore)
    custom = open_store({"type": "sqlite", "path": "x/y.db"}, tmp_path)
    assert isinstance(custom, SQLiteStore) and custom.path == tmp_path / "x" / "y.db"
    custom.close()
    with pytest.raises(ConfigError, match=r"tracker_store\.type"):
        open_store({"type": "mongod"}, tmp_path)


def test_values_json_cannot_encode_are_stored_as_text(store: ConversationStore) -> None:
    """Call metadata with e.g. a datetime or Path does not make a save fail."""
    store.save("CA1", {"slots": {"meta": {"started": Path("/x"), "n": 1}}})
    assert store.load("CA1") == {"slots": {"meta": {"started": "/x", "n": 1}}}
