"""ProjectAssistant: the async Assistant seam over the engine, with persistence."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from telephonist.dialogue.assistant import ProjectAssistant
from telephonist.dialogue.model import Endpoints
from telephonist.dialogue.project import Project
from telephonist.dialogue.turns import (
    Assistant,
    CollectDtmf,
    SessionEnd,
    SessionResumed,
    SessionStart,
    Silence,
    UserText,
)
from telephonist.stores import MemoryStore, SQLiteStore

ERROR_TEXT = "Sorry, I'm having trouble with that right now. Please try again later."


def _assistant(project: Project, store: object, **kwargs: object) -> ProjectAssistant:
    return ProjectAssistant(project, store, seed=3, **kwargs)  # type: ignore[arg-type]


async def test_satisfies_the_assistant_protocol(starter: Project) -> None:
    """ProjectAssistant is usable wherever the channel expects an Assistant."""
    assistant: Assistant = _assistant(starter, MemoryStore())
    turn = await assistant.handle("CA1", SessionStart({}))
    assert turn.messages[0].text == "Hello, and thanks for calling Acme."


async def test_state_survives_a_restart(starter: Project, tmp_path: Path) -> None:
    """A new assistant on the same SQLite file continues the conversation mid-flow."""
    db = tmp_path / "conv.sqlite3"
    first = _assistant(starter, SQLiteStore(db))
    await first.handle("CA1", SessionStart({"call_id": "CA1"}))
    await first.handle("CA1", UserText("3", source="dtmf"))
    await first.handle("CA1", UserText("monday"))
    await first.close()

    second = _assistant(starter, SQLiteStore(db))
    turn = await second.handle("CA1", UserText("four"))
    assert turn.messages[0].text == "What name should I put the appointment under?"
    assert turn.state["slots"]["appointment_day"] == "monday"
    assert turn.state["slots"]["party_size"] == 4.0
    await second.close()


async def test_conversations_are_independent_and_concurrent(starter: Project) -> None:
    """Fifty calls at once each get their own state."""
    assistant = _assistant(starter, MemoryStore())
    ids = [f"CA{i}" for i in range(50)]
    await asyncio.gather(*(assistant.handle(i, SessionStart({})) for i in ids))
    turns = await asyncio.gather(
        *(assistant.handle(i, UserText(str(1 + n % 3), source="dtmf")) for n, i in enumerate(ids))
    )
    flows = [t.state["flow_stack"][0]["flow_id"] if t.state["flow_stack"] else None for t in turns]
    assert flows[1] == "check_order_status"
    assert flows[2] == "book_appointment"
    assert turns[0].transfer_to is None  # billing without a number: no one available
    assert {f for f in flows[1::3]} == {"check_order_status"}


async def test_engine_crash_becomes_internal_error_turn(
    starter: Project, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception inside the engine never reaches the caller: error pattern + a log line."""
    assistant = _assistant(starter, MemoryStore())
    await assistant.handle("CA1", SessionStart({}))

    def boom(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(assistant.engine.understanding, "handle", boom)
    with caplog.at_level(logging.ERROR, logger="telephonist.dialogue.assistant"):
        turn = await assistant.handle("CA1", UserText("hello"))
    assert [m.text for m in turn.messages] == [ERROR_TEXT]
    assert "dialogue.internal_error" in caplog.text
    monkeypatch.undo()
    again = await assistant.handle("CA1", UserText("goodbye"))
    assert again.hang_up


async def test_store_failure_becomes_internal_error_turn(starter: Project) -> None:
    """Even a store that fails on every call yields a spoken error, not an exception."""

    class BrokenStore(MemoryStore):
        def save(self, conversation_id: str, tracker: dict[str, object]) -> None:
            raise OSError("disk full")

    assistant = _assistant(starter, BrokenStore())
    turn = await assistant.handle("CA1", SessionStart({}))
    assert [m.text for m in turn.messages] == [ERROR_TEXT]


async def test_unreachable_action_server_becomes_internal_error(starter: Project) -> None:
    """A refused connection to the action server is pattern_internal_error, not a crash."""
    endpoints = Endpoints(action_endpoint="http://127.0.0.1:9/webhook")
    assistant = _assistant(starter, MemoryStore(), endpoints=endpoints)
    await assistant.handle("CA1", SessionStart({}))
    await assistant.handle("CA1", UserText("2", source="dtmf"))
    turn = await assistant.handle("CA1", UserText("12345#", source="dtmf"))
    assert [m.text for m in turn.messages] == [ERROR_TEXT]
    assert turn.state["flow_stack"] == []
    await assistant.close()


async def test_session_end_persists_and_evicts(starter: Project) -> None:
    """After the call ends the tracker is in the store and no longer held in memory."""
    store = MemoryStore()
    assistant = _assistant(starter, store)
    await assistant.handle("CA1", SessionStart({}))
    await assistant.handle("CA1", Silence(1))
    await assistant.handle("CA1", SessionEnd("caller hung up"))
    saved = store.load("CA1")
    assert saved is not None
    assert [e["event"] for e in saved["events"]].count("silence") == 1
    assert "CA1" not in assistant._hot


async def _serve(reply: bytes | None) -> tuple[asyncio.AbstractServer, str]:
    """A local HTTP endpoint that answers ``reply`` raw, or never answers when None."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        if reply is None:
            await reader.read()  # never answer; returns when the client gives up
        else:
            writer.write(reply)
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/webhook"


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (None, "timed out"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nnotjson", "not JSON"),
        (b"HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\n{}", "HTTP 500"),
    ],
)
async def test_action_server_failures_become_internal_error(
    starter: Project, reply: bytes | None, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A slow, malformed or failing action server gives the error pattern and a log line."""
    server, url = await _serve(reply)
    endpoints = Endpoints(action_endpoint=url, action_timeout=0.3)
    assistant = _assistant(starter, MemoryStore(), endpoints=endpoints)
    await assistant.handle("CA1", SessionStart({}))
    await assistant.handle("CA1", UserText("2", source="dtmf"))
    with caplog.at_level(logging.ERROR, logger="telephonist.dialogue.assistant"):
        turn = await assistant.handle("CA1", UserText("12345#", source="dtmf"))
    assert [m.text for m in turn.messages] == [ERROR_TEXT]
    assert message in caplog.text
    await assistant.close()
    server.close()
    await server.wait_closed()


async def test_full_call_through_the_seam(starter: Project, tmp_path: Path) -> None:
    """One call through the Assistant seam with SQLite: every kind of event, end to end."""
    from telephonist.dialogue.turns import BargedIn

    store = SQLiteStore(tmp_path / "calls.sqlite3")
    assistant: Assistant = _assistant(starter, store, transfer_number="+15550003333")
    script: list[tuple[object, list[str]]] = [
        (SessionStart({"call_id": "CA9"}), ["Hello, and thanks for calling Acme."]),
        (BargedIn("Press 1 or", "Press 1 or say billing..."), []),
        (Silence(1), ["Hello, and thanks for calling Acme."]),
        (UserText("3", source="dtmf"), ["Which weekday would you like to come in?"]),
        (UserText("tuesday"), ["How many people are coming?"]),
        (UserText("three"), ["What name should I put the appointment under?"]),
        (UserText("no wait, thursday"), ["Okay, I've changed the appointment day to thursday."]),
        (UserText("cancel"), ["Okay, I've stopped that."]),
        (UserText("I want to talk to a human"), ["Please hold while I connect you to a person."]),
    ]
    for event, expected in script:
        turn = await assistant.handle("CA9", event)  # type: ignore[arg-type]
        assert [m.text for m in turn.messages][: len(expected)] == expected, event
    assert turn.transfer_to == "+15550003333"
    bye = await assistant.handle("CA9", UserText("goodbye"))
    assert bye.hang_up and [m.text for m in bye.messages] == ["Thanks for calling. Goodbye!"]
    end = await assistant.handle("CA9", SessionEnd("bot hung up"))
    assert end.messages == () and not end.hang_up
    saved = store.load("CA9")
    assert saved is not None
    kinds = [e["event"] for e in saved["events"]]
    for kind in (
        "session_start",
        "user_barge_in",
        "silence",
        "user",
        "bot",
        "slot",
        "transfer",
        "session_ended",
        "session_end",
    ):
        assert kind in kinds, kind
    await assistant.close()


async def test_a_resumed_call_picks_up_where_it_was_on_another_process(
    starter: Project, tmp_path: Path
) -> None:
    """After a lost stream another assistant on the shared store apologises and asks the
    waiting question again, keypad collection included; nothing is greeted or reset."""
    db = tmp_path / "conv.sqlite3"
    first = _assistant(starter, SQLiteStore(db))
    await first.handle("CA1", SessionStart({"call_id": "CA1"}))
    asked = await first.handle("CA1", UserText("2", source="dtmf"))
    assert asked.messages[-1].text.startswith("Please say or key in your five-digit order")
    await first.handle("CA1", SessionEnd("stream closed", resumable=True))
    await first.close()

    second = _assistant(starter, SQLiteStore(db))
    turn = await second.handle("CA1", SessionResumed({"call_id": "CA1"}, stream=1))
    assert [m.text for m in turn.messages] == [
        "Sorry, the line dropped for a moment.",
        *(m.text for m in asked.messages),
    ]
    assert turn.collect_dtmf == asked.collect_dtmf == CollectDtmf(None, "#")
    assert turn.state["flow_stack"] == asked.state["flow_stack"]
    assert turn.state["slots"] == asked.state["slots"]
    status = await second.handle("CA1", UserText("12345", source="dtmf"))
    assert [m.text for m in status.messages][:2] == [
        "I found your order.",
        "Order 12345 is out for delivery.",
    ]
    await second.close()


async def test_a_call_resumed_before_any_turn_is_greeted(starter: Project) -> None:
    """Nothing stored yet (the stream was lost before the first turn was saved): the
    resumed call starts as a new one."""
    assistant = _assistant(starter, MemoryStore())
    turn = await assistant.handle("CA2", SessionResumed({"call_id": "CA2"}))
    assert turn.messages[0].text == "Hello, and thanks for calling Acme."


async def test_a_resumable_end_leaves_the_stored_conversation_as_it_was(
    starter: Project,
) -> None:
    """Only a real end runs pattern_session_end; a lost stream changes nothing stored, and
    the resumed call has its slots."""
    store = MemoryStore()
    assistant = _assistant(starter, store)
    await assistant.handle("CA3", SessionStart({}))
    await assistant.handle("CA3", UserText("3", source="dtmf"))
    await assistant.handle("CA3", UserText("monday"))
    before = store.load("CA3")
    await assistant.handle("CA3", SessionEnd("stream closed", resumable=True))
    assert store.load("CA3") == before
    again = await assistant.handle("CA3", SessionResumed({}))
    assert again.messages[-1].text == "How many people are coming?"
    assert again.state["slots"]["appointment_day"] == "monday"
    await assistant.handle("CA3", SessionEnd("caller hung up"))
    after = store.load("CA3")
    assert after is not None and after != before and after["stack"] == []
