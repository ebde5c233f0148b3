"""The transcript from call events, without sockets: masking, sensitive spans, barge-ins and
transfers, as the event reader applies them."""

from __future__ import annotations

from typing import Any

from tests.fakes.events import make

from telephonist.call.events import (
    BargeIn,
    BotMessageStarted,
    CallEvent,
    Transferred,
    TurnLatency,
    TurnTaken,
)
from telephonist.recording.call_events import EventReader
from telephonist.recording.timeline import Timeline
from telephonist.recording.transcript import Transcript


class Call:
    """A transcript fed events at chosen seconds of line time."""

    def __init__(self, *, mask_dtmf: bool = True) -> None:
        self.timeline = Timeline()
        self.transcript = Transcript(
            "CA1", "web-1", "2026-11-30T10:00:00.000+00:00", "x.wav", mask_dtmf=mask_dtmf
        )
        self.reader = EventReader(self.transcript, self.timeline)

    def at(self, seconds: float, kind: type[CallEvent], **data: Any) -> None:
        """Caller frames up to ``seconds``, then the event."""
        while self.timeline.position < seconds * 8000:
            self.timeline.caller(b"\x10" * 160)
        self.reader.read(make(kind, **data))

    def turn(self, seconds: float, event: str, text: str | None = None, **data: Any) -> None:
        """The assistant answered ``event``."""
        source = data.pop("source", "speech" if event == "UserText" else None)
        self.at(seconds, TurnTaken, event=event, text=text, source=source, **data)


def test_keys_are_masked_unless_the_operator_turns_it_off():
    """Keyed digits become one * each by default; with mask_dtmf off they are kept."""
    for mask, shown in ((True, "***"), (False, "123")):
        call = Call(mask_dtmf=mask)
        call.turn(1.0, "UserText", "123", source="dtmf", confidence=None)
        assert call.transcript.turns[0]["caller"]["text"] == shown
        assert call.transcript.turns[0]["caller"].get("masked", False) is mask


def test_a_sensitive_question_stays_paused_through_barge_in_and_silence():
    """Paused from the sensitive turn until a caller's answer moves on; a barge-in or a
    repeated question does not resume it, and the answer is redacted."""
    call = Call()
    call.turn(1.0, "UserText", "pay", sensitive=True)
    assert call.timeline.paused
    call.at(2.0, BargeIn, trigger="dtmf", heard="Key in", full="Key in your card")
    call.turn(2.0, "BargedIn")
    call.turn(8.0, "Silence", sensitive=True)
    assert call.timeline.paused
    call.turn(9.5, "UserText", "4242", source="dtmf", confidence=None, sensitive=False)
    assert not call.timeline.paused
    assert call.transcript.paused == [[1.0, 9.5]]
    answer = call.transcript.turns[-1]["caller"]
    assert answer == {"text": "[sensitive]", "source": "dtmf", "confidence": None, "masked": True}


def test_bot_messages_interruptions_latency_and_transfer():
    """Each message under its turn, the interruption on the message it cut, the latency split
    on the caller's turn, and the transfer number on the call."""
    call = Call()
    call.turn(0.0, "SessionStart")
    call.at(0.0, BotMessageStarted, message_id=1, text="Welcome to the line")
    call.at(
        1.2,
        BargeIn,
        trigger="speech",
        heard="Welcome",
        full="Welcome to the line",
        onset_to_clear_ms=230.0,
    )
    call.turn(3.0, "UserText", "a person please", confidence=0.8)
    call.at(
        3.4,
        TurnLatency,
        speech_end_to_audio_ms=400.0,
        final_to_audio_ms=150.0,
        assistant_ms=100.0,
        tts_first_byte_ms=50.0,
    )
    call.at(3.4, Transferred, to="+15550100")
    start, asked = call.transcript.turns
    assert start["bot"][0]["interrupted"] == {
        "at_s": 1.2,
        "trigger": "speech",
        "heard": "Welcome",
        "onset_to_clear_ms": 230.0,
    }
    assert asked["caller"] == {"text": "a person please", "source": "speech", "confidence": 0.8}
    assert asked["latency_ms"] == {
        "speech_end_to_audio": 400.0,
        "final_to_audio": 150.0,
        "assistant": 100.0,
        "tts_first_byte": 50.0,
        "asr": 250.0,
    }
    assert call.transcript.as_dict()["transferred_to"] == "+15550100"


def test_the_latency_split_shows_the_models_share_on_the_latest_caller_turn():
    """With a model asked, its share is in the split (before the ASR's, as it always was);
    the split lands on the latest caller turn, not on a silence turn after it."""
    call = Call()
    call.turn(1.0, "UserText", "where is my parcel", confidence=0.9)
    call.turn(1.1, "Silence")
    call.at(
        1.5,
        TurnLatency,
        speech_end_to_audio_ms=900.5,
        final_to_audio_ms=700.25,
        assistant_ms=520.0,
        tts_first_byte_ms=80.0,
        llm_ms=480.0,
    )
    caller, silence = call.transcript.turns
    assert silence["latency_ms"] is None
    assert list(caller["latency_ms"].items()) == [
        ("speech_end_to_audio", 900.5),
        ("final_to_audio", 700.25),
        ("assistant", 520.0),
        ("tts_first_byte", 80.0),
        ("llm", 480.0),
        ("asr", 200.25),
    ]


def test_messages_queued_after_the_one_cut_are_marked_unheard():
    """A clear drops everything queued: the message after the interrupted one was not heard."""
    call = Call()
    call.turn(0.0, "SessionStart")
    call.at(0.0, BotMessageStarted, message_id=1, text="Hello, and thanks for calling.")
    call.at(0.0, BotMessageStarted, message_id=2, text="Press 1 for billing.")
    call.at(
        1.5,
        BargeIn,
        trigger="speech",
        heard="Hello, and",
        full="Hello, and thanks for calling.",
    )
    first, second = call.transcript.turns[0]["bot"]
    assert first["interrupted"] == {"at_s": 1.5, "trigger": "speech", "heard": "Hello, and"}
    assert second["interrupted"] == {"at_s": 1.5, "trigger": "speech", "heard": ""}
