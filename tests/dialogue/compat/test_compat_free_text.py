"""A free-text answer to a waiting question is not taken over by another flow's intent
unless the NLU is confident the caller changed topic."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.compat_support import Caller, slot_set

from telephonist.dialogue.project import Project, load_project
from telephonist.dialogue.tracker import Tracker


def fetch_balance(tracker: Tracker) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The bank's balance look-up, as an action server would answer it."""
    return [slot_set("balance_amount", 250)], []


def asked_for_account(project: Project) -> Caller:
    """A call that has reached "Which account, checking or savings?"."""
    caller = Caller(project, {"action_fetch_balance": fetch_balance})
    caller.call()
    assert caller.say("what is my balance") == ["Which account, checking or savings?"]
    return caller


def test_checking_answers_the_question_although_another_intent_is_nearest(
    voice_bank: Project,
) -> None:
    """ "checking" classifies as the checking-info intent with high confidence, yet it
    answers the account question (it repeats an option the question offered)."""
    caller = asked_for_account(voice_bank)
    parsed = caller.engine.interpreter.parse("checking")
    assert parsed.intent == "checking_info" and parsed.confidence > 0.8
    assert caller.say("checking") == [
        "Your checking balance is 250 dollars.",
        "Is there anything else I can help you with?",
    ]
    assert caller.ran == ["action_fetch_balance"]
    assert "checking_info" not in [e.get("flow_id") for e in caller.tracker.events]


def test_a_training_example_of_another_flow_changes_topic(voice_bank: Project) -> None:
    """A message that is word for word another flow's example starts that flow on top."""
    caller = asked_for_account(voice_bank)
    assert caller.say("I lost my card") == ["What are the last four digits of the card?"]
    assert caller.flows == ["check_balance", "lost_card"]
    assert caller.slot("account_kind") is None


def test_a_confident_new_request_changes_topic(voice_bank: Project) -> None:
    """Not an example, but confident, with a clear lead, and not the question's own words."""
    caller = asked_for_account(voice_bank)
    assert caller.say("please block my card") == ["What are the last four digits of the card?"]
    assert caller.say("4321") == [
        "The card ending 4321 is on hold now.",
        "Let's get back to checking your balance.",
        "Which account, checking or savings?",
    ]
    assert caller.say("savings")[0] == "Your savings balance is 250 dollars."


def test_the_confidence_needed_is_a_setting(compat_project: Callable[[str], Path]) -> None:
    """With nlu.topic_change_confidence at 0.99 the same request fills the question."""
    copy = compat_project("voice_bank")
    config = copy / "config.yml"
    config.write_text(config.read_text() + "  topic_change_confidence: 0.99\n")
    caller = asked_for_account(load_project(copy))
    assert caller.say("please block my card")[0] == (
        "Your please block my card balance is 250 dollars."
    )


def test_topic_change_settings_are_validated(compat_project: Callable[[str], Path]) -> None:
    """A margin outside 0..1 is an error naming config.yml and the key."""
    from telephonist.dialogue.project import check_project

    path = compat_project("voice_bank")
    config = path / "config.yml"
    config.write_text(config.read_text() + "  topic_change_margin: 2\n")
    problems = [p for p in check_project(path) if p.severity == "error"]
    assert [(p.file, p.key) for p in problems] == [("config.yml", "nlu.topic_change_margin")]
