"""Rasa's built-in names: default intents, actions, responses and patterns are known,
overridable, and short on a phone when there is no knowledge base or chit-chat model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.compat_support import Caller, loaded

from telephonist.dialogue.commands import (
    CancelFlow,
    ChitChat,
    Clarify,
    HumanHandoff,
    SearchAndReply,
    SetSlot,
    SkipQuestion,
    StartFlow,
)
from telephonist.dialogue.engine import Engine
from telephonist.dialogue.project import Project, check_project, load_project
from telephonist.dialogue.turns import UserText


@pytest.fixture(scope="module")
def repairs(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The restaurant project that overrides some patterns and keeps the others."""
    return loaded("repairs", tmp_path_factory)


def booking(project: Project) -> Caller:
    """A call waiting for the party size."""
    caller = Caller(project)
    caller.call()
    assert caller.say("book a table") == ["For how many people?"]
    return caller


def test_default_intents_and_actions_need_no_declaration(repairs: Project) -> None:
    """restart (a default intent) in an nlu_trigger and action_reset_routing in a flow
    check clean; "/restart" starts over."""
    assert check_project(repairs.path) == []
    caller = booking(repairs)
    assert caller.say("/restart") == []
    assert caller.flows == []


def test_search_without_a_knowledge_base_says_so_and_goes_on(repairs: Project) -> None:
    """pattern_search (overridden to run action_trigger_search) answers with the project's
    own utter_no_knowledge_base, then the question is asked again."""
    caller = booking(repairs)
    assert caller.command(SearchAndReply()) == [
        "I can't search our website from the phone.",
        "For how many people?",
    ]


def test_chitchat_skip_and_clarify_use_the_default_patterns(repairs: Project) -> None:
    """Default chit-chat and skip-question answers are one sentence; clarification names
    the candidate flows by their names."""
    caller = booking(repairs)
    assert caller.command(ChitChat()) == [
        "Sorry, that's not something I can help with.",
        "For how many people?",
    ]
    assert caller.command(SkipQuestion()) == [
        "I need an answer to this before we can go on.",
        "For how many people?",
    ]
    other = Caller(repairs)
    other.call()
    assert other.command(Clarify(("book_table", "book_room"))) == [
        "Sorry, did you mean booking a table or booking the room?"
    ]
    assert other.say("book the function room") == [
        "The room is yours.",
        "Is there anything else I can help you with?",
    ]


def test_cancel_pattern_sees_the_cancelled_flow_name(repairs: Project) -> None:
    """The override branches on context.canceled_name, set before its first step runs."""
    caller = booking(repairs)
    assert caller.say("forget it") == ["Alright, no table then."]
    assert caller.flows == []
    other = booking(repairs)
    assert other.command(CancelFlow()) == ["Alright, no table then."]


def test_generator_commands_fill_correct_and_start(repairs: Project) -> None:
    """SetSlot answers the question and fills later ones; StartFlow interrupts; a human
    hand-off without a number says it is not available."""
    caller = booking(repairs)
    assert caller.command(SetSlot("party_size", 4), SetSlot("day", "friday")) == [
        "Booked for 4 on friday.",
        "Is there anything else I can help you with?",
    ]
    caller = booking(repairs)
    assert caller.command(StartFlow("book_room")) == [
        "The room is yours.",
        "Let's get back to booking a table.",
        "For how many people?",
    ]
    assert caller.command(HumanHandoff()) == [
        "Sorry, I can't connect you to a person right now.",
        "For how many people?",
    ]


def test_a_changed_flow_restarts_the_conversation(
    compat_project: Callable[[str], Path],
) -> None:
    """A conversation waiting in a flow that was edited since hears pattern_code_change
    instead of resuming at a step that may be gone."""
    path = compat_project("repairs")
    caller = booking(load_project(path))
    flows = path / "data" / "flows.yml"
    flows.write_text(flows.read_text().replace("      - collect: day\n", ""))
    changed = Engine(load_project(path), now=lambda: 1000.0)
    turn = changed.handle(caller.tracker, UserText("four", source="typed"))
    assert [m.text for m in turn.messages] == [
        "Something changed on my side, so let's start again."
    ]
    assert caller.tracker.stack == []
    assert changed.handle(caller.tracker, UserText("book a table", source="typed")).messages[
        0
    ].text == ("For how many people?")


def test_an_answer_with_a_changed_earlier_value_corrects_after_answering(
    repairs: Project,
) -> None:
    """SetSlot for the question plus one that changes an earlier answer: the question is
    answered, then pattern_correction updates the earlier value."""
    caller = booking(repairs)
    assert caller.say("4") == ["On which day?"]
    assert caller.command(SetSlot("day", "monday"), SetSlot("party_size", 6)) == [
        "Okay, I've updated that.",
        "Booked for 6 on monday.",
        "Is there anything else I can help you with?",
    ]


def test_moving_lines_is_not_a_code_change(compat_project: Callable[[str], Path]) -> None:
    """A comment added above the flows shifts every line but changes no step: the
    conversation goes on where it was."""
    path = compat_project("repairs")
    caller = booking(load_project(path))
    flows = path / "data" / "flows.yml"
    flows.write_text("# reviewed\n\n" + flows.read_text())
    changed = Engine(load_project(path), now=lambda: 1000.0)
    turn = changed.handle(caller.tracker, UserText("4", source="typed"))
    assert [m.text for m in turn.messages] == ["On which day?"]
