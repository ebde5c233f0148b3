"""A sensitive question open when the stream is lost stays secret on the resumed stream: the
caller's answer is masked in the call log and the recording pauses for it."""

from __future__ import annotations

import json
import logging

from tests.audio_samples import load_prompt, silence
from tests.fakes.scripted import ScriptedAssistant
from tests.recording.recorded import segment_files
from tests.server.test_resume import shared

from telephonist.call.events import AsrFinal, CallEnded, CallStarted, EventKind, TurnTaken
from telephonist.dialogue.turns import (
    AssistantTurn,
    BotMessage,
    SessionResumed,
    UserEvent,
    UserText,
)
from telephonist.recording.call_events import SensitiveCalls
from telephonist.server.event_log import EventLogger

CARD = "4242 4242 4242 4242"
CALL_SID = "CA" + "6" * 32


def card_line(event: UserEvent) -> AssistantTurn | None:
    """Asks for a card number (sensitive), and again after a resume, as the engine does."""
    if isinstance(event, UserText) and event.text == "pay":
        return AssistantTurn(messages=(BotMessage("Say your card number."),), sensitive=True)
    if isinstance(event, SessionResumed):
        again = (BotMessage("Sorry, the line dropped."), BotMessage("Say your card number."))
        return AssistantTurn(messages=again, sensitive=True)
    if isinstance(event, UserText):
        return AssistantTurn(messages=(BotMessage("Thank you."),))
    return None


async def test_the_answer_after_a_resume_is_masked_and_not_recorded(serve, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="telephonist.calls")
    folder = tmp_path / "recordings"
    speech = load_prompt("agent-pass").mulaw + silence(1.0)
    assistant = ScriptedAssistant(respond=card_line)
    async with serve(
        assistant=assistant,
        transcripts=["pay", CARD],
        recording={"folder": str(folder)},
        **shared(),
    ) as served:
        served.runtime.events.subscribe(EventLogger())
        caller = await served.connected_call(call_sid=CALL_SID)
        await caller.send_audio(speech)
        await assistant.wait_for(lambda: len(assistant.of_type(UserText)) == 1)
        caller.drop_stream()
        await assistant.wait_for(lambda: bool(assistant.of_type(SessionResumed)))
        await served.wait_for_speech(caller, "Say your card number.")
        await caller.play_all()
        await caller.send_audio(speech)
        await assistant.wait_for(lambda: len(assistant.of_type(UserText)) == 2)
        await caller.hang_up()
        await served.wait_event(EventKind.CALL_ENDED, 2)
        await served.runtime.recordings.aclose()
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("asr.final")]
    assert len(logged) == 2 and "pay" in logged[0]
    assert CARD not in logged[1] and "[sensitive]" in logged[1]
    documents = [json.loads(path.read_text()) for path in segment_files(folder)[1]]
    assert len(documents) == 2
    assert not any(CARD in json.dumps(document) for document in documents)
    resumed = next(d for d in documents if d["end_reason"] == "caller hung up")
    assert [t["event"] for t in resumed["turns"]][:2] == ["resumed", "caller"]
    assert resumed["turns"][1]["caller"]["masked"]
    assert resumed["paused"], "the resumed segment must pause for the secret answer"


def turn(event: str, *, sensitive: bool = False) -> TurnTaken:
    return TurnTaken(
        call_id=CALL_SID,
        event=event,
        text=None,
        source=None,
        confidence=None,
        sensitive=sensitive,
        assistant_ms=1.0,
        messages=(),
        hang_up=False,
        state={},
    )


def test_a_lost_streams_late_end_keeps_the_resumed_question_secret():
    """On one process the lost stream's end can follow its successor's question (its
    recogniser closes slowly): the question stays open for the new stream."""
    sensitive = SensitiveCalls()
    events = [
        CallStarted(call_id=CALL_SID),
        turn("UserText", sensitive=True),
        CallStarted(call_id=CALL_SID, stream=1),
        turn("SessionResumed", sensitive=True),
        CallEnded(call_id=CALL_SID, reason="stream closed", duration_s=3.0),
    ]
    assert not any(sensitive.secret(event) for event in events)
    assert sensitive.secret(AsrFinal(call_id=CALL_SID, text=CARD, confidence=0.9))
    assert sensitive.secret(turn("UserText"))
    assert not sensitive.secret(
        CallEnded(call_id=CALL_SID, reason="hung up", duration_s=1, stream=1)
    )
    assert not sensitive.secret(AsrFinal(call_id=CALL_SID, text="hello", confidence=0.9))
