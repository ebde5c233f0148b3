"""Resume and replays decided in a real shared store: two instances whose ledger is one Redis,
or one PostgreSQL database (each skips, saying why, without its server)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.audio_samples import load_prompt, silence
from tests.server.test_replay import replay_webhook
from tests.server.test_resume import greeted_on, resumed_on, shared
from tests.stores import test_postgres_store as postgres
from tests.stores import test_redis_store as redis
from tests.stores.test_postgres_store import admin, database
from tests.stores.test_redis_store import prefix, redis_client

from telephonist.dialogue.turns import SessionResumed
from telephonist.stores import ConversationStore, open_store

__all__ = ["admin", "database", "prefix", "redis_client"]


@pytest.fixture(params=["redis", "postgresql"])
def open_shared(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], ConversationStore]]:
    """Opens one more store on the shared backend (one per instance)."""
    if request.param == "redis":
        spec = redis._spec(request.getfixturevalue("prefix"))
    else:
        spec = postgres._spec(request.getfixturevalue("database"))
    opened: list[ConversationStore] = []

    def open_one() -> ConversationStore:
        opened.append(open_store(spec, tmp_path))
        return opened[-1]

    yield open_one
    for store in opened:
        store.close()


async def test_a_call_moves_once_through_the_shared_store(serve, open_shared):
    """A stream lost on A resumes on B (B reads A's record of the stream's start); when B's
    bot then hangs up by closing the stream, its redirect is hung up, and A's store reads
    B's record of it."""
    first_store, second_store = open_shared(), open_shared()
    async with (
        serve(ledger=first_store.ledger, **shared()) as first,
        serve(ledger=second_store.ledger, transcripts=["goodbye"], **shared()) as second,
    ):
        caller = await greeted_on(first, redirect_to=second)
        caller.drop_stream()
        await resumed_on(second, caller)

        await caller.play_all()
        await caller.send_audio(load_prompt("agent-pass").mulaw + silence(1.0))
        await second.wait_for_speech(caller, "Goodbye!")
        await caller.play_all()
        await caller.wait_until(lambda: caller.closed_by_server)
    assert caller.ended_by == "<Hangup/>" and len(caller.legs) == 2
    assert not first.assistant.of_type(SessionResumed)
    assert first_store.ledger.record_once(f"end:{caller.call_sid}:1", "x", 5) == "bot hung up"


@pytest.mark.parametrize("resume", [True, False])
async def test_a_replayed_webhook_is_hung_up_by_another_instance(serve, open_shared, resume):
    """The call streams on A; its webhook replayed to B gets <Hangup/>: B reads the stream's
    start from the shared store (written by resume, or on its own without it)."""
    first_store, second_store = open_shared(), open_shared()
    async with (
        serve(ledger=first_store.ledger, **shared(resume=resume)) as first,
        serve(ledger=second_store.ledger, **shared(resume=resume)) as second,
    ):
        caller = await first.connected_call()
        assert "stream_token" in await replay_webhook(second, second.caller())  # a new call
        answer = await replay_webhook(second, caller)
        assert "<Hangup" in answer and "stream_token" not in answer
        await caller.hang_up()
    assert second_store.ledger.read(f"start:{caller.call_sid}:0") is not None
