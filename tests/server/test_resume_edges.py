"""The edges of resuming a call: ends the server decides must be hung up, whenever the
stream is lost and whatever the store says; a stream only lost must still resume."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from tests.audio_samples import load_prompt, silence
from tests.server.test_resume import greeted_on, resumed_on, shared

from telephonist.dialogue.assistant import ProjectAssistant
from telephonist.dialogue.project import load_project
from telephonist.dialogue.turns import SessionEnd, SessionResumed, SessionStart, Silence
from telephonist.server.resume import RecentEnds
from telephonist.starter import copy_starter
from telephonist.stores import SQLiteStore
from telephonist.stores.memory import MemoryLedger


class DownLedger:
    """A shared store that is out: every request fails."""

    def record_once(self, key: str, value: str, ttl_seconds: float) -> str | None:
        raise ConnectionError("store down")

    def read(self, key: str) -> str | None:
        raise ConnectionError("store down")


async def say_goodbye(served: Any, caller: Any) -> None:
    """The caller says goodbye; the bot answers "Goodbye!" and hangs up after it plays."""
    await caller.play_all()
    await caller.send_audio(load_prompt("agent-pass").mulaw + silence(1.0))
    await served.wait_for_speech(caller, "Goodbye!")


async def test_a_failure_opening_the_call_is_hung_up_not_resumed(serve):
    """An exception from the session's open is the call's internal error: recorded as an end
    on purpose before the socket closes, so its redirect gets <Hangup/>; the session is
    forgotten."""
    ledger = MemoryLedger()
    async with serve(ledger=ledger, **shared()) as served:

        async def broken(language: str) -> Any:
            raise RuntimeError("recogniser socket blew up")

        served.asr.open_stream = broken
        caller = served.caller()
        await caller.dial()
        await caller.connect()
        await caller.wait_until(lambda: caller.closed_by_server)
        assert caller.ended_by == "<Hangup/>" and len(caller.legs) == 1
        assert ledger.read(f"end:{caller.call_sid}:0") == "internal error"
        assert served.runtime.sessions == {}
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(SessionEnd)))
        assert served.assistant.of_type(SessionEnd) == [SessionEnd("internal error")]


async def test_a_stream_lost_during_the_goodbye_is_not_resumed(serve, caplog):
    """The bot's hang-up is recorded when the assistant decides it, not after its goodbye
    has played: a stream lost while "Goodbye!" plays ends the call."""
    caplog.set_level(logging.INFO, logger="telephonist")
    async with serve(transcripts=["goodbye"], **shared()) as served:
        caller = await served.connected_call()
        await say_goodbye(served, caller)
        caller.drop_stream()  # its audio and marks are in, its play-out not echoed yet
        await caller.wait_until(lambda: caller.closed_by_server)
        assert caller.ended_by == "<Hangup/>" and len(caller.legs) == 1
        assert "the server ended the stream on purpose (bot hung up)" in caplog.text
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(SessionEnd)))
        assert served.assistant.of_type(SessionEnd) == [SessionEnd("stream closed")]
        assert not served.assistant.of_type(SessionResumed)


async def test_a_resumed_call_whose_bot_had_hung_up_still_hangs_up():
    """If the goodbye's stream was resumed anyway (the store could not be told), the
    resumed turn says the goodbye again and hangs up, on whichever instance it lands."""
    root = Path(tempfile.mkdtemp())
    copy_starter(root)
    project = load_project(root)
    store = root / "trackers.sqlite3"
    first = ProjectAssistant(project, SQLiteStore(store), seed=3)
    await first.handle("CA1", SessionStart({"call_id": "CA1"}))
    for count in (1, 2, 3):
        goodbye = await first.handle("CA1", Silence(consecutive=count))
    assert goodbye.hang_up
    await first.handle("CA1", SessionEnd("stream closed", resumable=True))
    await first.close()
    second = ProjectAssistant(project, SQLiteStore(store), seed=3)
    try:
        for stream in (1, 2):  # and again if that stream is lost too
            resumed = await second.handle("CA1", SessionResumed({"call_id": "CA1"}, stream))
            assert resumed.hang_up
            assert resumed.messages[-1].text == goodbye.messages[-1].text
    finally:
        await second.close()


async def test_during_a_store_outage_the_instance_that_hung_up_hangs_up_its_redirect(serve):
    """Every ledger request fails: the end this instance recorded is remembered here, so its
    redirect gets <Hangup/> rather than the fail-open resume."""
    async with serve(ledger=DownLedger(), transcripts=["goodbye"], **shared()) as served:
        caller = await served.connected_call()
        await say_goodbye(served, caller)
        await caller.play_all()  # the goodbye plays out; the bot closes the stream
        await caller.wait_until(lambda: caller.closed_by_server)
        assert caller.ended_by == "<Hangup/>" and len(caller.legs) == 1
        assert not served.assistant.of_type(SessionResumed)


async def test_during_a_store_outage_a_lost_stream_still_resumes_elsewhere(serve):
    """What no instance could record stays let through: a stream lost during the outage
    resumes on another instance (and a replay of that redirect there is hung up)."""
    ledger = DownLedger()
    async with (
        serve(ledger=ledger, **shared()) as first,
        serve(ledger=ledger, **shared()) as second,
    ):
        caller = await greeted_on(first, redirect_to=second)
        caller.drop_stream()
        await resumed_on(second, caller)
        assert caller.streaming and len(caller.legs) == 2
        resumes = second.runtime.resumes
        assert resumes is not None
        assert await resumes.take(caller.call_sid, 0, "any") == (
            "the stream was resumed already (a replayed redirect)"
        )
        await caller.hang_up()


def test_the_local_memory_of_ends_is_bounded_and_expires():
    """The first value per key wins; the oldest are forgotten beyond the size or the TTL."""
    now = [0.0]
    ends = RecentEnds(size=2, ttl=10.0, now=lambda: now[0])
    ends.add("a", "bot hung up")
    ends.add("a", "resumed")
    assert ends.get("a") == "bot hung up"
    ends.add("b", "x")
    ends.add("c", "y")
    assert ends.get("a") is None and len(ends) == 2
    now[0] = 10.0
    assert ends.get("b") is None
    ends.add("d", "z")
    assert len(ends) == 1 and ends.get("d") == "z"


async def test_a_stop_without_drain_records_the_end_before_the_sockets_close(serve):
    """Without a drain the server stops at once; every call's end is in the ledger before
    uvicorn closes its socket, so the redirect is hung up on every instance."""
    ledger = MemoryLedger()
    async with (
        serve(ledger=ledger, **shared()) as first,
        serve(ledger=ledger, **shared()) as second,
    ):
        caller = await greeted_on(first, redirect_to=second)
        key = f"end:{caller.call_sid}:0"
        at_close: list[str | None] = []
        shutdown = first.server.shutdown

        async def closing(*args: Any, **kwargs: Any) -> None:
            at_close.append(ledger.read(key))
            await shutdown(*args, **kwargs)

        first.server.shutdown = closing
        first.server.should_exit = True  # what uvicorn's signal handler does (not re-raised)
        await caller.wait_until(lambda: caller.closed_by_server)
        assert at_close == ["server stopped"]
        assert caller.ended_by == "<Hangup/>" and len(caller.legs) == 1
        assert not second.assistant.events
        await first.assistant.wait_for(lambda: bool(first.assistant.of_type(SessionEnd)))
        assert first.assistant.of_type(SessionEnd) == [SessionEnd("server stopped")]


async def test_a_close_code_1012_from_a_proxy_is_a_lost_stream(serve):
    """1012 ("service restart") from the peer, as a proxy in between may send it, is not
    this server stopping: the call resumes."""
    async with serve(**shared()) as served:
        caller = await served.connected_call()
        await caller._ws.close(code=1012, reason="proxy restarting")
        await resumed_on(served, caller)
        assert served.assistant.of_type(SessionEnd) == [SessionEnd("stream closed", True)]
        assert caller.streaming and len(caller.legs) == 2
        await caller.hang_up()
