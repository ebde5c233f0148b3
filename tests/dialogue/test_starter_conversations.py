"""Scripted phone conversations with the starter project, through the sync engine."""

from __future__ import annotations

from telephonist.dialogue.engine import Engine
from telephonist.dialogue.tracker import Tracker
from telephonist.dialogue.turns import (
    AssistantTurn,
    BargedIn,
    CollectDtmf,
    SessionEnd,
    SessionStart,
    Silence,
    UserEvent,
    UserText,
)

MENU = "Press 1 or say billing, press 2 or say orders, press 3 or say appointments."


class Call:
    """One conversation driven event by event."""

    def __init__(self, engine: Engine, call_id: str = "CA1") -> None:
        self.engine = engine
        self.tracker: Tracker = engine.new_tracker(call_id)

    def send(self, event: UserEvent) -> AssistantTurn:
        return self.engine.handle(self.tracker, event)

    def say(self, text: str) -> AssistantTurn:
        return self.send(UserText(text))

    def key(self, digits: str) -> AssistantTurn:
        return self.send(UserText(digits, source="dtmf"))


def texts(turn: AssistantTurn) -> list[str]:
    return [m.text for m in turn.messages]


def started(engine: Engine) -> Call:
    call = Call(engine)
    call.send(SessionStart({"call_id": "CA1", "user_phone": "+15550009999"}))
    return call


def test_session_start_greets_and_asks_menu_with_dtmf(engine: Engine) -> None:
    """The greeting and the keypad menu come in the first turn, with one-digit DTMF buffering."""
    turn = Call(engine).send(SessionStart({"call_id": "CA1"}))
    assert texts(turn) == ["Hello, and thanks for calling Acme.", MENU]
    assert turn.collect_dtmf == CollectDtmf(length=1)
    assert turn.silence_timeout == 8.0  # the collect step's override
    assert turn.state["flow_stack"] == [{"flow_id": "main_menu", "step_id": "0"}]
    assert turn.state["slots"]["session_started_metadata"] == {"call_id": "CA1"}


def test_dtmf_menu_routes_to_appointments(engine: Engine) -> None:
    """Pressing 3 maps to the appointments branch and asks its first question."""
    call = started(engine)
    turn = call.key("3")
    assert texts(turn) == ["Which weekday would you like to come in?"]
    assert turn.collect_dtmf is None
    assert turn.silence_timeout == 10.0  # back to the slot value
    assert turn.state["flow_stack"][0]["flow_id"] == "book_appointment"


def test_spoken_menu_choice_tolerates_asr_errors(engine: Engine) -> None:
    """'biling' (misheard) still selects billing; with a number configured, it transfers."""
    call = started(engine)
    turn = call.say("biling please")
    assert texts(turn) == [
        "Billing questions are handled by our accounts team.",
        "Please hold while I connect you to a person.",
    ]
    assert turn.transfer_to == "+15550001111"
    assert turn.state["flow_stack"] == []


def test_silence_repeats_then_checks_then_hangs_up(engine: Engine) -> None:
    """1st silence repeats the question, 2nd asks if the caller is there, 3rd says bye."""
    call = started(engine)
    first = call.send(Silence(1))
    assert texts(first) == ["Hello, and thanks for calling Acme.", MENU]
    assert first.collect_dtmf == CollectDtmf(length=1)
    assert not first.hang_up
    second = call.send(Silence(2))
    assert texts(second) == ["Hello, are you still there?"]
    assert not second.hang_up
    third = call.send(Silence(3))
    assert texts(third) == ["I haven't heard from you, so I'll end our conversation shortly."]
    assert third.hang_up


def test_speech_after_silence_resets_the_count(engine: Engine) -> None:
    """A real answer sets consecutive_silence_timeouts back to 0."""
    call = started(engine)
    call.send(Silence(1))
    turn = call.key("3")
    assert turn.state["slots"]["consecutive_silence_timeouts"] == 0.0


def test_booking_with_validation_correction_and_confirmation(engine: Engine) -> None:
    """Rejected party size, spoken numbers, a correction of the day, then a booking."""
    call = started(engine)
    call.key("3")
    assert texts(call.say("wensday")) == ["How many people are coming?"]
    rejected = call.say("twenty five of us")
    assert texts(rejected) == [
        "We can see groups of one to six people.",
        "How many people are coming?",
    ]
    assert rejected.state["slots"]["party_size"] is None
    assert texts(call.say("just two")) == ["What name should I put the appointment under?"]
    assert call.tracker.slots["appointment_day"] == "wednesday"
    corrected = call.say("actually make it friday")
    assert texts(corrected) == [
        "Okay, I've changed the appointment day to friday.",
        "What name should I put the appointment under?",
    ]
    confirm = call.say("Ada Lovelace")
    assert texts(confirm) == ["That's friday for 2, under the name Ada Lovelace. Shall I book it?"]
    done = call.say("yes please")
    assert texts(done)[0] == "Done. See you on friday."
    assert texts(done)[1] in (
        "Is there anything else I can help you with?",
        "Can I help with anything else?",
    )
    assert done.state["slots"]["appointment_day"] is None  # reset after the flow ended


def test_declined_confirmation_books_nothing(engine: Engine) -> None:
    """Saying no at the confirmation takes the else branch."""
    call = started(engine)
    call.say("I'd like to book an appointment on monday")
    call.say("three")
    call.say("Grace")
    turn = call.say("no")
    assert texts(turn)[0] == "Okay, I haven't booked anything."


def test_intent_with_entity_prefills_slot(engine: Engine) -> None:
    """'book an appointment for tuesday' skips the day question."""
    call = started(engine)
    turn = call.say("make an appointment for tuesday")
    assert texts(turn) == ["How many people are coming?"]
    assert call.tracker.slots["appointment_day"] == "tuesday"


def test_cancel_stops_the_flow(engine: Engine) -> None:
    """'never mind' during a flow cancels it and clears its slots."""
    call = started(engine)
    call.say("book an appointment")
    call.say("thursday")
    turn = call.say("never mind")
    assert texts(turn) == ["Okay, I've stopped that."]
    assert turn.state["flow_stack"] == []
    assert turn.state["slots"]["appointment_day"] is None


def test_order_number_by_keypad_with_finish_key(engine: Engine) -> None:
    """The order question asks for '#'-terminated digits; a short number is rejected."""
    call = started(engine)
    ask = call.key("2")
    assert ask.collect_dtmf == CollectDtmf(finish_on_key="#")
    short = call.key("123#")
    assert texts(short)[0] == "Order numbers have five digits."
    assert short.collect_dtmf == CollectDtmf(finish_on_key="#")


def test_custom_action_without_server_is_internal_error(engine: Engine) -> None:
    """A valid order number reaches the custom action; no server means pattern_internal_error."""
    call = started(engine)
    call.key("2")
    turn = call.key("12345#")
    assert texts(turn) == ["Sorry, I'm having trouble with that right now. Please try again later."]
    assert turn.state["flow_stack"] == []


def test_handoff_interrupts_and_transfers(engine: Engine) -> None:
    """Asking for a person mid-flow transfers the call."""
    call = started(engine)
    call.say("book an appointment")
    turn = call.say("can I speak to a human")
    assert turn.transfer_to == "+15550001111"
    assert texts(turn) == ["Please hold while I connect you to a person."]


def test_not_understood_rephrases_and_reasks(engine: Engine) -> None:
    """Gibberish during a collect gets the rephrase response and the question again."""
    call = started(engine)
    call.say("book an appointment")
    turn = call.say("purple elephants sing")
    assert texts(turn) == [
        "Sorry, I didn't catch that. Could you say it another way?",
        "Which weekday would you like to come in?",
    ]


def test_repeat_request_repeats_last_messages(engine: Engine) -> None:
    """'say that again' repeats the question without re-asking twice."""
    call = started(engine)
    call.say("book an appointment")
    turn = call.say("can you repeat that")
    assert texts(turn) == ["Which weekday would you like to come in?"]


def test_goodbye_hangs_up(engine: Engine) -> None:
    """Goodbye is said and the turn asks the call to hang up."""
    call = started(engine)
    call.key("3")
    turn = call.say("goodbye")
    assert texts(turn) == ["Thanks for calling. Goodbye!"]
    assert turn.hang_up
    assert turn.state["flow_stack"] == []


def test_barge_in_is_recorded_without_reply(engine: Engine) -> None:
    """A barge-in record lands on the tracker and the turn is empty."""
    call = started(engine)
    turn = call.send(BargedIn("Press 1 or", MENU))
    assert turn.messages == ()
    assert not turn.hang_up
    event = call.tracker.events[-1]
    assert event["event"] == "user_barge_in"
    assert event["heard_text"] == "Press 1 or"


def test_session_end_records_reason_and_clears_stack(engine: Engine) -> None:
    """The caller hanging up runs pattern_session_end: no messages, no bot hang-up."""
    call = started(engine)
    turn = call.send(SessionEnd("caller hung up"))
    assert turn.messages == ()
    assert not turn.hang_up
    assert turn.state["flow_stack"] == []
    kinds = [e["event"] for e in call.tracker.events]
    assert "session_end" in kinds and "session_ended" in kinds


def test_state_snapshot_has_intent_and_entities(engine: Engine) -> None:
    """The turn state reports the latest intent and entities."""
    call = started(engine)
    turn = call.say("make an appointment for tuesday")
    assert turn.state["latest_intent"]["name"] == "book_appointment"
    assert turn.state["entities"][0]["entity"] == "weekday"


def _booked(engine: Engine) -> Call:
    call = started(engine)
    call.say("make an appointment for monday")
    call.say("two")
    call.say("Alan")
    call.say("yes")
    return call


def test_anything_else_no_says_goodbye(engine: Engine) -> None:
    """After a finished task, 'no' to 'anything else?' says goodbye and hangs up."""
    turn = _booked(engine).say("no thanks")
    assert texts(turn) == ["Thanks for calling. Goodbye!"]
    assert turn.hang_up


def test_anything_else_yes_offers_menu(engine: Engine) -> None:
    """'yes' to 'anything else?' offers the keypad menu again."""
    turn = _booked(engine).say("yes please")
    assert texts(turn) == [MENU]
    assert turn.collect_dtmf == CollectDtmf(length=1)


def test_anything_else_new_request_then_asks_again(engine: Engine) -> None:
    """A new request at 'anything else?' runs, then the question comes back."""
    call = _booked(engine)
    call.say("book an appointment")
    call.say("cancel")
    turn = call.say("thank you")
    assert texts(turn)[0] == "You're welcome."
    assert texts(turn)[1] in (
        "Is there anything else I can help you with?",
        "Can I help with anything else?",
    )


def test_transfer_ends_the_dialogue(engine: Engine) -> None:
    """A transfer clears the flow stack: the caller has left the assistant."""
    call = _booked(engine)
    turn = call.say("can I talk to a person")
    assert turn.transfer_to == "+15550001111"
    assert call.tracker.stack == []


def test_no_with_correction_is_not_goodbye(engine: Engine) -> None:
    """'no wait, thursday' while the name is asked corrects the day instead of hanging up."""
    call = started(engine)
    call.say("book an appointment for tuesday")
    call.say("three")
    turn = call.say("no wait, thursday")
    assert not turn.hang_up
    assert texts(turn)[0] == "Okay, I've changed the appointment day to thursday."
