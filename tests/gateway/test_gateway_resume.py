"""A gateway call resumed after a lost stream, on another instance sharing the store: the
same keypad menu and question, an apology, and Rasa told only what it was asked to be."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.rasa_server import Answer, FakeRasa
from tests.gateway.test_gateway_assistant import CALL, MENU, METADATA

from telephonist.dialogue.turns import (
    CollectDtmf,
    SessionEnd,
    SessionResumed,
    SessionStart,
    Silence,
    UserText,
)
from telephonist.gateway import GatewaySettings, RasaAssistant
from telephonist.server.assembly import Paths, build_runtime
from telephonist.stores import SQLiteStore

PIN: Answer = [{"text": "Your PIN?"}, {"custom": {"collect_dtmf": {"length": 4}}}]
RESUMED_METADATA = {**METADATA, "stream_id": "MZ0002"}


async def test_the_menu_and_the_question_survive_a_resume_elsewhere(tmp_path: Path):
    """Instance A asked with a menu; B, on the same store, apologises, repeats the menu and
    takes a key of it as A would have; the lost stream's end is not sent to Rasa."""
    db = tmp_path / "state.sqlite3"
    fake = FakeRasa(answers={"/session_start": MENU, "/check_order": PIN})
    async with fake.running() as url:
        first = RasaAssistant(GatewaySettings(url=url), store=SQLiteStore(db))
        asked = await first.handle(CALL, SessionStart(METADATA))
        await first.handle(CALL, SessionEnd("stream closed", resumable=True))
        await first.close()

        second = RasaAssistant(GatewaySettings(url=url), store=SQLiteStore(db))
        turn = await second.handle(CALL, SessionResumed(RESUMED_METADATA, stream=1))
        assert [m.text for m in turn.messages] == [
            "Sorry, the line dropped for a moment.",
            *(m.text for m in asked.messages),
        ]
        assert turn.collect_dtmf == asked.collect_dtmf
        pin = await second.handle(CALL, UserText("1", source="dtmf"))
        assert pin.collect_dtmf == CollectDtmf(length=4)
        again = await second.handle(CALL, SessionResumed(RESUMED_METADATA, stream=2))
        assert again.collect_dtmf == CollectDtmf(length=4)
        assert [m.text for m in again.messages][-1] == "Your PIN?"
        await second.close()
    assert fake.messages() == ["/session_start", "/check_order"]
    assert fake.received[-1]["metadata"]["stream_id"] == "MZ0002"
    assert fake.received[-1]["metadata"]["button"]["title"] == "Order status"


async def test_a_secret_question_is_asked_again_as_secret_and_a_goodbye_still_ends(
    tmp_path: Path,
):
    """A sensitive PIN question lost with its stream comes back sensitive on the other
    instance (recordings pause, logs mask the answer); a lost goodbye still hangs up."""
    secret: Answer = [
        {"text": "Your card PIN?"},
        {"custom": {"collect_dtmf": {"length": 4}, "sensitive": True}},
    ]
    goodbye: Answer = [{"text": "Goodbye!"}, {"custom": {"hangup": True}}]
    fake = FakeRasa(answers={"/session_start": secret, "1234": goodbye})
    db = tmp_path / "state.sqlite3"
    async with fake.running() as url:
        first = RasaAssistant(GatewaySettings(url=url), store=SQLiteStore(db))
        asked = await first.handle(CALL, SessionStart(METADATA))
        assert asked.sensitive
        await first.close()
        second = RasaAssistant(GatewaySettings(url=url), store=SQLiteStore(db))
        again = await second.handle(CALL, SessionResumed(RESUMED_METADATA, stream=1))
        assert again.sensitive and again.collect_dtmf == CollectDtmf(length=4)
        bye = await second.handle(CALL, UserText("1234", source="dtmf"))
        assert bye.hang_up
        await second.close()
        third = RasaAssistant(GatewaySettings(url=url), store=SQLiteStore(db))
        last = await third.handle(CALL, SessionResumed(RESUMED_METADATA, stream=2))
        assert [m.text for m in last.messages][-1] == "Goodbye!" and last.hang_up
        await third.close()


async def test_a_lost_stream_ending_after_its_successor_leaves_the_call_as_it_was(
    tmp_path: Path,
):
    """Resumed on the same instance, the lost stream's end may come after the new stream
    began: the menu, the question and the call's metadata stay for the new stream."""
    fake = FakeRasa(answers={"/session_start": MENU, "/check_order": PIN})
    async with fake.running() as url:
        gateway = RasaAssistant(GatewaySettings(url=url), store=SQLiteStore(tmp_path / "s.db"))
        asked = await gateway.handle(CALL, SessionStart(METADATA))
        await gateway.handle(CALL, SessionResumed(RESUMED_METADATA, stream=1))
        await gateway.handle(CALL, SessionEnd("stream closed", resumable=True, stream=0))
        repeat = await gateway.handle(CALL, Silence(consecutive=1))
        assert [m.text for m in repeat.messages] == [m.text for m in asked.messages]
        await gateway.handle(CALL, UserText("1", source="dtmf"))
        await gateway.handle(CALL, SessionEnd("caller hung up", stream=1))
        await gateway.close()
    assert fake.messages() == ["/session_start", "/check_order", "/session_end"]
    assert fake.received[1]["metadata"]["button"]["title"] == "Order status"
    assert fake.received[-1]["metadata"]["stream_id"] == "MZ0002"


async def test_a_resume_message_lets_rasa_answer_the_resume(tmp_path: Path):
    """With resume_message, Rasa hears it (with the stream's number) and its answer is
    spoken instead of the gateway's apology."""
    fake = FakeRasa(
        answers={"/session_start": MENU, "/resumed": [{"text": "Back again! Where were we?"}]}
    )
    async with fake.running() as url:
        settings = GatewaySettings(url=url, resume_message="/resumed")
        first = RasaAssistant(settings, store=SQLiteStore(tmp_path / "s.sqlite3"))
        await first.handle(CALL, SessionStart(METADATA))
        await first.close()
        second = RasaAssistant(settings, store=SQLiteStore(tmp_path / "s.sqlite3"))
        turn = await second.handle(CALL, SessionResumed(RESUMED_METADATA, stream=1))
        assert [m.text for m in turn.messages] == ["Back again! Where were we?"]
        await second.close()
    assert fake.messages() == ["/session_start", "/resumed"]
    assert fake.received[-1]["metadata"]["resumed"] == {"stream": 1}


async def test_a_call_unknown_to_the_store_starts_afresh(tmp_path: Path):
    """Resumed before anything was stored: the call starts as a new one."""
    fake = FakeRasa(answers={"/session_start": MENU})
    async with fake.running() as url:
        gateway = RasaAssistant(GatewaySettings(url=url), store=SQLiteStore(tmp_path / "s.db"))
        turn = await gateway.handle(CALL, SessionResumed(METADATA))
        await gateway.close()
    assert turn.messages[0].text.startswith("What would you like to do?")
    assert fake.messages() == ["/session_start"]


async def test_a_gateway_whose_calls_resume_keeps_their_state_in_the_tracker_store(tmp_path):
    """With resume on (a shared secret), the gateway keeps each call's state in endpoints.yml's
    tracker_store, whose ledger decides the resumes; without a secret it keeps none."""
    credentials = (
        "twilio_media_streams:\n  server_url: bot.example.com\n  asr: {name: local}\n"
        "  tts: {name: local}\n  vad: {name: energy}\n"
    )
    (tmp_path / "credentials.yml").write_text(credentials + f"  stream_token_secret: {'k' * 40}\n")
    (tmp_path / "endpoints.yml").write_text(
        "assistant:\n  type: rasa\n  url: http://127.0.0.1:5006\n"
        "tracker_store:\n  type: sqlite\n  path: calls.sqlite3\n"
    )
    runtime = build_runtime(Paths(tmp_path), {})
    assert isinstance(runtime.assistant, RasaAssistant)
    assert isinstance(runtime.assistant.store, SQLiteStore)
    assert runtime.resumes is not None and runtime.resumes.ledger is runtime.assistant.store
    await runtime.close()
    assert (tmp_path / "calls.sqlite3").is_file()

    (tmp_path / "credentials.yml").write_text(credentials)
    runtime = build_runtime(Paths(tmp_path), {})
    assert isinstance(runtime.assistant, RasaAssistant) and runtime.assistant.store is None
    assert runtime.resumes is None
    await runtime.close()
