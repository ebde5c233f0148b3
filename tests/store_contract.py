"""What every shared conversation store must do, checked the same way for each of them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telephonist.dialogue.assistant import ProjectAssistant
from telephonist.dialogue.project import Project, load_project
from telephonist.dialogue.turns import SessionStart, UserText
from telephonist.starter import copy_starter
from telephonist.stores import ConversationStore


def starter_project(path: Path) -> Project:
    """A private copy of the starter project, loaded."""
    copy_starter(path)
    return load_project(path)


def check_recency_and_delete(store: ConversationStore) -> None:
    """list() orders by last save; delete() forgets and reports whether the id existed."""
    for conversation_id in ("CA1", "CA2", "CA3"):
        store.save(conversation_id, {"id": conversation_id})
    store.save("CA1", {"id": "CA1", "again": True})
    assert store.list() == ["CA1", "CA3", "CA2"]
    assert store.delete("CA3") is True
    assert store.delete("CA3") is False
    assert store.load("CA3") is None
    assert store.list() == ["CA1", "CA2"]


def check_concurrent_saves(store: ConversationStore) -> None:
    """Eight threads saving through one store lose nothing and read their own writes."""
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(20):
                store.save(f"T{n}-{i}", {"n": n, "i": i})
                store.save("shared", {"last": n})
                assert store.load(f"T{n}-{i}") == {"n": n, "i": i}
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ids = store.list()
    assert len(ids) == 161 and len(set(ids)) == 161
    assert store.load("T7-19") == {"n": 7, "i": 19}


async def check_conversation_continues_on_a_new_store(
    starter: Project, open_one: Callable[[], ConversationStore]
) -> None:
    """A conversation goes on with a second assistant on a second store, as after a
    restart or on another server process."""
    first = ProjectAssistant(starter, open_one(), seed=3)
    await first.handle("CA1", SessionStart({"call_id": "CA1"}))
    await first.handle("CA1", UserText("3", source="dtmf"))
    await first.handle("CA1", UserText("monday"))
    await first.close()

    second_store = open_one()
    saved = second_store.load("CA1")
    assert saved is not None and saved["slots"]["appointment_day"] == "monday"
    second = ProjectAssistant(starter, second_store, seed=3)
    turn = await second.handle("CA1", UserText("four"))
    assert turn.messages[0].text == "What name should I put the appointment under?"
    assert turn.state["slots"]["party_size"] == 4.0
    await second.close()


def check_shared_between_instances(store: ConversationStore, other: ConversationStore) -> None:
    """Two stores on one backend (as two server processes) see each other's writes."""
    store.save("CA1", {"from": "first"})
    assert other.load("CA1") == {"from": "first"}
    other.save("CA2", {"from": "second"})
    assert store.list() == ["CA2", "CA1"]
    assert store.delete("CA2") is True
    assert other.list() == ["CA1"]
    other.close()


def check_claim_once(store: Any, other: Any) -> None:
    """The first claim of a key wins everywhere until it expires (single-use stream tokens)."""
    assert other.claimed("nonce-1") is False
    assert store.claim_once("nonce-1", 0.3) is True
    assert other.claimed("nonce-1") is True
    assert other.claim_once("nonce-1", 0.3) is False
    assert other.claim_once("nonce-2", 0.3) is True
    time.sleep(0.4)  # the claim expires in the store; nothing to await
    assert store.claimed("nonce-1") is False
    assert store.claim_once("nonce-1", 0.3) is True
    other.close()


def check_record_once(store: ConversationStore, other: ConversationStore) -> None:
    """The first value written under a key is what every instance reads back until it
    expires; then a new one may be written (how each stream of a call ended). ``read``
    sees the same value on every instance and writes nothing."""
    assert other.ledger.read("end:CA1:0") is None
    assert store.ledger.record_once("end:CA1:0", "bot hung up", 0.3) is None
    assert other.ledger.read("end:CA1:0") == "bot hung up"
    assert other.ledger.record_once("end:CA1:0", "resumed", 0.3) == "bot hung up"
    assert store.ledger.record_once("end:CA1:0", "again", 0.3) == "bot hung up"
    assert other.ledger.record_once("end:CA1:1", "resumed", 0.3) is None
    assert store.ledger.read("end:CA1:2") is None
    assert store.ledger.record_once("end:CA1:2", "first", 0.3) is None  # the read wrote nothing
    time.sleep(0.4)  # the record expires in the store; nothing to await
    assert store.ledger.read("end:CA1:0") is None and other.ledger.read("end:CA1:1") is None
    assert other.ledger.record_once("end:CA1:0", "later", 5) is None
    assert store.ledger.record_once("end:CA1:0", "latest", 5) == "later"
    assert store.ledger.read("end:CA1:0") == "later"
    other.close()
