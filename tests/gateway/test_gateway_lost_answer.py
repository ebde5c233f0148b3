"""A stream lost while Rasa was answering: Rasa has taken the caller's message, so the resume
asks Rasa's answer (here or on another instance), not the question Rasa is already past, and
the message is never sent twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.fakes.rasa_server import FakeRasa
from tests.gateway.test_gateway_assistant import CALL, MENU, METADATA
from tests.gateway.test_gateway_call import gateway_for
from tests.gateway.test_gateway_resume import PIN, RESUMED_METADATA
from tests.server.conftest import serve, silero
from tests.server.test_resume import shared

from telephonist.call.events import BotMessageStarted, EventKind
from telephonist.dialogue.turns import (
    AssistantTurn,
    CollectDtmf,
    SessionEnd,
    SessionResumed,
    SessionStart,
    UserText,
)
from telephonist.gateway import GatewaySettings, RasaAssistant
from telephonist.stores import SQLiteStore

__all__ = ["serve", "silero"]

MENU_TEXT = "What would you like to do?"


async def stored_state(store: SQLiteStore, holds: Callable[[dict[str, Any]], bool]) -> None:
    """Wait until the call's stored state satisfies ``holds`` (another task writes it)."""
    async with asyncio.timeout(10):
        while True:
            state = await asyncio.to_thread(store.load, CALL)
            if holds(state or {}):
                return
            await asyncio.sleep(0.01)


async def lose_stream_while_rasa_answers(gateway: RasaAssistant, fake: FakeRasa) -> None:
    """The caller keys 1 (the menu's "Order status"); the stream is lost before Rasa answers:
    the call's turn is cancelled, then the stream's end is told, as the session does."""
    fake.hold = asyncio.Event()
    turn = asyncio.create_task(gateway.handle(CALL, UserText("1", source="dtmf")))
    await fake.wait_for(lambda: fake.messages()[-1] == "/check_order")
    turn.cancel()
    await asyncio.wait({turn})
    await gateway.handle(CALL, SessionEnd("stream closed", resumable=True))


def asks_for_the_pin(turn: AssistantTurn) -> bool:
    texts = [m.text for m in turn.messages]
    return texts[-1] == "Your PIN?" and turn.collect_dtmf == CollectDtmf(length=4)


async def test_a_resume_on_the_same_instance_asks_rasas_answer(tmp_path: Path):
    fake = FakeRasa(answers={"/session_start": MENU, "/check_order": PIN})
    async with fake.running() as url:
        gateway = RasaAssistant(GatewaySettings(url=url), store=SQLiteStore(tmp_path / "s.db"))
        await gateway.handle(CALL, SessionStart(METADATA))
        await lose_stream_while_rasa_answers(gateway, fake)
        resumed = asyncio.create_task(
            gateway.handle(CALL, SessionResumed(RESUMED_METADATA, stream=1))
        )
        assert fake.hold is not None
        fake.hold.set()
        turn = await resumed
        assert asks_for_the_pin(turn), turn
        assert turn.messages[0].text == "Sorry, the line dropped for a moment."
        await gateway.close()
    assert fake.messages() == ["/session_start", "/check_order"]


async def test_a_resume_elsewhere_waits_for_the_answer_the_lost_instance_stores(tmp_path: Path):
    """Instance A lost the stream while Rasa answered; B, resuming on the shared store, waits
    until A has stored Rasa's answer, and asks it; the answer's keys work on B."""
    db = tmp_path / "state.sqlite3"
    fake = FakeRasa(answers={"/session_start": MENU, "/check_order": PIN, "1234": []})
    async with fake.running() as url:
        first = RasaAssistant(GatewaySettings(url=url), store=SQLiteStore(db))
        await first.handle(CALL, SessionStart(METADATA))
        await lose_stream_while_rasa_answers(first, fake)
        watcher = SQLiteStore(db)
        await stored_state(watcher, lambda state: state.get("answer_due") is not None)

        second = RasaAssistant(GatewaySettings(url=url), store=SQLiteStore(db))
        resumed = asyncio.create_task(
            second.handle(CALL, SessionResumed(RESUMED_METADATA, stream=1))
        )
        assert fake.hold is not None
        fake.hold.set()
        turn = await resumed
        assert asks_for_the_pin(turn), [m.text for m in turn.messages]
        await second.handle(CALL, UserText("1234", source="dtmf"))
        await first.close()
        await second.close()
        watcher.close()
    assert fake.messages() == ["/session_start", "/check_order", "1234"]


async def started_with_answer_due(url: str, db: Path, due: float) -> None:
    """A call started on an instance that then died with an answer due at ``due``."""
    first = RasaAssistant(GatewaySettings(url=url), store=SQLiteStore(db))
    await first.handle(CALL, SessionStart(METADATA))
    await first.close()
    store = SQLiteStore(db)
    state = store.load(CALL)
    assert state is not None
    store.save(CALL, {**state, "answer_due": due})
    store.close()


async def test_an_answer_due_from_a_dead_instance_is_waited_for_only_until_due(tmp_path: Path):
    """The instance that lost the stream died before Rasa answered: the resume waits no longer
    than the answer was due, then asks the question it has."""
    db = tmp_path / "state.sqlite3"
    fake = FakeRasa(answers={"/session_start": MENU})
    async with fake.running() as url:
        due = time.time() + 0.3
        await started_with_answer_due(url, db, due)
        second = RasaAssistant(GatewaySettings(url=url), store=SQLiteStore(db))
        turn = await second.handle(CALL, SessionResumed(RESUMED_METADATA, stream=1))
        assert time.time() >= due
        assert turn.messages[-1].text.startswith(MENU_TEXT)
        await second.close()


@pytest.mark.parametrize("due", [3600.0, float("inf"), float("nan")], ids=["hour", "inf", "nan"])
async def test_a_resume_waits_no_longer_than_the_timeout_whatever_is_stored(
    tmp_path: Path, due: float
):
    """An instance whose clock runs an hour ahead (or a damaged value) cannot make a resume
    wait past the gateway's own timeout."""
    db = tmp_path / "state.sqlite3"
    fake = FakeRasa(answers={"/session_start": MENU})
    async with fake.running() as url:
        await started_with_answer_due(url, db, time.time() + due)
        second = RasaAssistant(GatewaySettings(url=url, timeout=0.3), store=SQLiteStore(db))
        began = time.monotonic()
        turn = await second.handle(CALL, SessionResumed(RESUMED_METADATA, stream=1))
        assert time.monotonic() - began < 2.0
        assert turn.messages[-1].text.startswith(MENU_TEXT)
        await second.close()


async def test_a_failed_answer_leaves_the_question_and_clears_the_wait(tmp_path: Path):
    """Rasa fails the lost stream's message: the stored question stays, and nothing is due."""
    db = tmp_path / "state.sqlite3"
    fake = FakeRasa(answers={"/session_start": MENU})
    async with fake.running() as url:
        gateway = RasaAssistant(GatewaySettings(url=url), store=SQLiteStore(db))
        await gateway.handle(CALL, SessionStart(METADATA))
        await lose_stream_while_rasa_answers(gateway, fake)
        fake.status = 500
        assert fake.hold is not None
        fake.hold.set()
        turn = await gateway.handle(CALL, SessionResumed(RESUMED_METADATA, stream=1))
        assert turn.messages[-1].text.startswith(MENU_TEXT)
        await gateway.close()
        store = SQLiteStore(db)
        assert (store.load(CALL) or {}).get("answer_due") is None
        store.close()


async def test_over_a_real_socket_the_resumed_stream_speaks_rasas_answer(serve, tmp_path: Path):
    """The caller keys 1; the stream drops before Rasa answers; the resumed stream says the
    apology and Rasa's answer to the key (not the menu again), which Rasa heard once."""
    fake = FakeRasa(answers={"/greet": MENU, "/check_order": PIN})
    store = SQLiteStore(tmp_path / "state.sqlite3")
    async with fake.running() as url, serve(**shared()) as served:
        assistant = gateway_for(url, served.runtime.events, start_message="/greet")
        assistant.store = store
        served.runtime.assistant = assistant
        served.assistant.greeting = "For Order status, press 1."
        caller = await served.connected_call()
        await caller.play_all()
        fake.hold = asyncio.Event()
        await caller.send_dtmf("1")
        await fake.wait_for(lambda: fake.messages()[-1] == "/check_order")
        caller.drop_stream()
        fake.hold.set()
        await served.wait_event(EventKind.BOT_MESSAGE, 3)  # the greeting, then the resume's
        await caller.play_all()
        await caller.hang_up()
        await served.wait_event(EventKind.CALL_ENDED, 2)
        await assistant.close()
    assert fake.messages() == ["/greet", "/check_order", "/session_end"]
    spoken = [e.text for e in served.kinds(BotMessageStarted)]
    assert spoken[1:] == ["Sorry, the line dropped for a moment.", "Your PIN?"]
