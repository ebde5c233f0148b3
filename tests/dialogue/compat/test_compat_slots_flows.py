"""Slots and flows as Rasa writes them: list slots, from_trigger_intent and custom mappings,
force_slot_filling, matches / contains / is conditions, action_ask_<slot>,
validate_<slot>, slot validation with refill_utter, digressions, Jinja responses and
response variables filled by a custom action."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.compat_support import ActionResult, Caller, loaded, slot_set

from telephonist.dialogue.commands import StartFlow
from telephonist.dialogue.project import Project, check_project, load_project
from telephonist.dialogue.tracker import Tracker
from telephonist.dialogue.turns import UserText


def test_list_slot_and_contains(voice_bank: Project) -> None:
    """Every payee entity goes into the list slot; `contains` branches on it."""
    caller = Caller(voice_bank)
    caller.call()
    assert caller.say("add alice and bob as payees") == [
        "Added alice and bob.",
        "Alice is at the top of the list.",
        "Is there anything else I can help you with?",
    ]


def test_trigger_intent_mapping_and_forced_slot_filling(voice_bank: Project) -> None:
    """pay_bill sets bill_urgent through from_trigger_intent; the note question takes the
    next message whatever it sounds like (force_slot_filling), even another flow's example."""
    caller = Caller(voice_bank)
    caller.call()
    assert caller.say("pay my bill") == [
        "Marked as urgent.",
        "What should the note on the payment say?",
    ]
    assert caller.say("I lost my card")[0] == "Paid, with the note: I lost my card."


def test_matches_rejection_and_is_condition(voice_bank: Project) -> None:
    """A regex rejection re-asks until four digits come; `is true` then branches."""
    caller = Caller(voice_bank)
    caller.call()
    caller.say("my card was stolen")
    assert caller.say("12") == [
        "I need exactly four digits.",
        "What are the last four digits of the card?",
    ]
    assert caller.say("9876")[0] == "The card ending 9876 is on hold now."


def test_response_variables_from_a_custom_action(voice_bank: Project) -> None:
    """utter_message(response=..., total=..., count=...) fills {total} and {count}; a
    channel-specific variation is preferred on the phone."""

    def statement(tracker: Tracker) -> ActionResult:
        return [], [{"response": "utter_statement_total", "total": 120.5, "count": 3}]

    caller = Caller(voice_bank, {"action_read_statement": statement})
    caller.call()
    assert caller.command(StartFlow("monthly_statement"))[0] == (
        "You spent 120.5 dollars in 3 payments."
    )
    goodbye = voice_bank.domain.responses["utter_goodbye"]
    assert [v.text for v in goodbye.variations] == ["Goodbye."]  # the socketio one is dropped


@pytest.fixture(scope="module")
def custom(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The money-sending project whose collect steps use custom actions."""
    return loaded("custom_actions", tmp_path_factory)


def _actions(log: list[str]) -> dict[str, Callable[[Tracker], ActionResult]]:
    def ask_destination(tracker: Tracker) -> ActionResult:
        return [], [{"text": "Who gets the money? You can say Mia or Jon."}]

    def capture_pin(tracker: Tracker) -> ActionResult:
        digits = "".join(c for c in tracker.latest_message.get("text", "") if c.isdigit())
        return ([slot_set("pin", digits)] if len(digits) == 4 else []), []

    def validate_amount(tracker: Tracker) -> ActionResult:
        log.append(f"validated {tracker.slots.get('amount')}")
        if tracker.slots.get("amount") == 13:
            return [slot_set("amount", None)], [{"text": "Not thirteen, please."}]
        return [], []

    def receipt(tracker: Tracker) -> ActionResult:
        return [], [{"response": "utter_receipt", "reference": "AB12", "fee": 0}]

    return {
        "action_ask_destination": ask_destination,
        "action_capture_pin": capture_pin,
        "validate_amount": validate_amount,
        "action_receipt": receipt,
    }


def test_collect_steps_hand_work_to_custom_actions(custom: Project) -> None:
    """action_ask_<slot> asks, a custom mapping's action fills, validate_<slot> validates,
    the slot's validation rejects and asks again with refill_utter; a Jinja response and a
    response with action-supplied variables are said."""
    log: list[str] = []
    caller = Caller(custom, _actions(log))
    caller.call()
    assert caller.say("send money") == ["Who gets the money? You can say Mia or Jon."]
    assert caller.say("mia") == ["Please say your four digit PIN."]
    assert caller.say("it is 12") == ["Please say your four digit PIN."]
    assert caller.say("1 2 3 4") == ["How much?"]
    assert caller.slot("pin") == "1234"
    assert caller.say("600") == ["That is over the limit of 500.", "How much, at most 500?"]
    assert caller.say("13") == ["Not thirteen, please.", "How much?"]
    assert caller.say("40") == [
        "Sending 40 to Mia.",
        "Reference AB12, fee 0.",
        "Is there anything else I can help you with?",
    ]
    assert log == ["validated 13.0", "validated 40.0"]
    assert caller.ran[0] == "action_ask_destination"


def test_custom_action_collects_check_clean(custom: Project) -> None:
    """A question asked by action_ask_<slot> needs no utter_ask_<slot> response."""
    assert check_project(custom.path) == []


def test_a_question_asked_twice_is_an_error(compat_project: Callable[[str], Path]) -> None:
    """utter_ask_<slot> and action_ask_<slot> both defined: Rasa refuses it, so does check."""
    path = compat_project("custom_actions")
    domain = path / "domain.yml"
    domain.write_text(
        domain.read_text().replace(
            "responses:\n", 'responses:\n  utter_ask_destination:\n    - text: "To whom?"\n'
        )
    )
    found = [p for p in check_project(path) if "keep one" in p.message]
    assert [p.key for p in found] == ["flows.send_money.steps[0].collect"]


@pytest.fixture(scope="module")
def digressions(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The food-ordering project with protected questions."""
    return loaded("digressions", tmp_path_factory)


def test_ask_confirm_digressions_finish_first(digressions: Project) -> None:
    """Asked before switching, "yes" (finish first) queues the other flow after this one."""
    caller = Caller(digressions)
    caller.call()
    assert caller.say("I want to order food") == ["What would you like to eat?"]
    assert caller.say("when are you open") == ["Shall we finish your order first?"]
    assert caller.say("yes") == [
        "Let's finish this first, then I'll help with the opening hours.",
        "What would you like to eat?",
    ]
    assert caller.say("ramen") == ["Where should we deliver?"]
    assert caller.say("12 Quay Street") == [
        "One ramen to 12 Quay Street.",
        "The kitchen is open until ten.",
        "Is there anything else I can help you with?",
    ]


def test_ask_confirm_digressions_switch_now(digressions: Project) -> None:
    """ "no" switches now; the order resumes afterwards."""
    caller = Caller(digressions)
    caller.call()
    assert caller.says("I want to order food", "when are you open", "no") == [
        "Okay, let's do the opening hours first.",
        "The kitchen is open until ten.",
        "Let's get back to your order.",
        "What would you like to eat?",
    ]


def test_block_digressions(digressions: Project) -> None:
    """A blocked question says so, asks again, and the request runs when the flow is done."""
    caller = Caller(digressions)
    caller.call()
    assert caller.says("I want to order food", "soup", "how late is the kitchen open") == [
        "Let's finish this first, then I'll help with the opening hours.",
        "Where should we deliver?",
    ]
    assert caller.say("the harbour")[1] == "The kitchen is open until ten."


def test_keypad_only_question_ignores_speech(compat_project: Callable[[str], Path]) -> None:
    """dtmf.allow_audio_input: false asks again on speech and takes the keys."""
    path = compat_project("voice_bank")
    flows = path / "data" / "flows" / "cards" / "lost_card.yaml"
    flows.write_text(
        flows.read_text().replace(
            "      - collect: last_digits\n",
            "      - collect: last_digits\n        dtmf: {length: 4, allow_audio_input: false}\n",
        )
    )
    caller = Caller(load_project(path))
    caller.call()
    caller.say("I lost my card")
    assert caller.say("one two three four") == ["What are the last four digits of the card?"]
    assert caller.last is not None and caller.last.collect_dtmf is not None
    assert caller.send(UserText("1234", source="dtmf"))[0] == "The card ending 1234 is on hold now."
