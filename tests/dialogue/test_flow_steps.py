"""Step types, branching, guards, response conditions and pattern overrides on a small
purpose-built project."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephonist.dialogue.engine import Engine
from telephonist.dialogue.project import load_project
from telephonist.dialogue.tracker import Tracker
from telephonist.dialogue.turns import AssistantTurn, SessionStart, Silence, UserEvent, UserText

DOMAIN = """\
intents: [transfer_money, check_vip, restart, help, greet]
slots:
  amount:
    type: float
  recipient:
    type: text
  vip:
    type: bool
    initial_value: false
  approved:
    type: bool
  note:
    type: any
responses:
  utter_ask_amount:
    - text: "How much?"
  utter_ask_recipient:
    - text: "To whom?"
  utter_big:
    - text: "That is a big transfer of {amount}."
  utter_small:
    - text: "Sending {amount} to {recipient}."
  utter_vip:
    - text: "Welcome back, valued customer."
      condition:
        - type: slot
          name: vip
          value: true
    - text: "Welcome."
  utter_checked:
    - text: "Checked: {note}."
  utter_help:
    - text: "I can move money."
  utter_after_listen:
    - text: "Still here."
  utter_ask_still_there:
    - text: "Hallo?"
"""
NLU = """\
nlu:
  - intent: transfer_money
    examples: |
      - send money
      - transfer money to a friend
      - I want to pay someone
  - intent: check_vip
    examples: |
      - am I a vip
      - vip status
      - check my status
  - intent: restart
    examples: |
      - restart
      - start over
  - intent: help
    examples: |
      - help
      - what can you do
  - intent: greet
    examples: |
      - hello
      - hi
"""
FLOWS = """\
flows:
  transfer_money:
    description: move money
    persisted_slots: [recipient]
    nlu_trigger:
      - intent: transfer_money
    steps:
      - collect: recipient
      - collect: amount
        rejections:
          - if: slots.amount <= 0
            utter: utter_ask_amount
      - call: approve
      - noop: true
        next:
          - if: slots.amount > 100
            then:
              - action: utter_big
                next: END
          - else: small
      - id: small
        action: utter_small
  approve:
    description: set approval (called as a sub-flow)
    if: false
    steps:
      - set_slots:
          - approved: true
          - note: "ok"
      - action: utter_checked
  check_vip:
    description: greet depending on a slot
    nlu_trigger:
      - intent: check_vip
    steps:
      - set_slots:
          - vip: true
      - action: utter_vip
  vip_only:
    description: only for vips
    if: slots.vip
    nlu_trigger:
      - intent: greet
    steps:
      - action: utter_vip
  help:
    description: listen in the middle of a flow
    nlu_trigger:
      - intent: help
    steps:
      - action: utter_help
      - action: action_listen
      - action: utter_after_listen
  restart:
    nlu_trigger:
      - intent: restart
    steps:
      - action: action_restart
  pattern_completed:
    description: say nothing when done
    steps:
      - noop: true
  pattern_user_silence:
    description: custom silence handling
    steps:
      - action: utter_ask_still_there
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """An engine over the purpose-built project."""
    root = tmp_path_factory.mktemp("proj")
    (root / "data").mkdir()
    (root / "domain.yml").write_text(DOMAIN)
    (root / "data" / "nlu.yml").write_text(NLU)
    (root / "data" / "flows.yml").write_text(FLOWS)
    return Engine(load_project(root), seed=1, now=lambda: 5.0)


def run(engine: Engine, *events: UserEvent, tracker: Tracker | None = None) -> AssistantTurn:
    tracker = tracker or engine.new_tracker("c")
    turn = AssistantTurn()
    for event in events:
        turn = engine.handle(tracker, event)
    return turn


def texts(turn: AssistantTurn) -> list[str]:
    return [m.text for m in turn.messages]


def test_call_set_slots_and_branch_to_end(engine: Engine) -> None:
    """call runs the sub-flow (despite its false guard), then the > 100 branch is taken."""
    tracker = engine.new_tracker("c")
    turn = run(
        engine, UserText("send money"), UserText("Alice"), UserText("two hundred"), tracker=tracker
    )
    assert texts(turn) == ["Checked: ok.", "That is a big transfer of 200."]
    assert tracker.slots["approved"] is True  # set_slots values are not reset at flow end
    assert tracker.slots["recipient"] == "Alice"  # persisted_slots survive the flow end
    assert tracker.slots["amount"] is None


def test_else_branch_to_step_id(engine: Engine) -> None:
    """The else branch jumps to a step by id and interpolates slots."""
    turn = run(engine, UserText("send money"), UserText("Bob"), UserText("25"))
    assert texts(turn) == ["Checked: ok.", "Sending 25 to Bob."]


def test_rejection_reasks(engine: Engine) -> None:
    """A rejected value is cleared and the question asked again (a rejection that is the
    question itself is said once, not twice in a row)."""
    turn = run(engine, UserText("send money"), UserText("Bob"), UserText("0"))
    assert texts(turn) == ["How much?"]
    assert turn.state["slots"]["amount"] is None


def test_response_condition_and_flow_guard(engine: Engine) -> None:
    """The conditional variation wins once vip is set; the guarded flow only starts then."""
    tracker = engine.new_tracker("c")
    assert texts(run(engine, UserText("hello"), tracker=tracker)) == [
        "I'm sorry, I didn't quite understand that. Could you rephrase?"
    ]
    assert texts(run(engine, UserText("vip status"), tracker=tracker)) == [
        "Welcome back, valued customer."
    ]
    assert texts(run(engine, UserText("hello"), tracker=tracker)) == [
        "Welcome back, valued customer."
    ]


def test_action_listen_pauses_the_flow(engine: Engine) -> None:
    """action_listen ends the turn; the flow continues after the next message."""
    tracker = engine.new_tracker("c")
    assert texts(run(engine, UserText("help"), tracker=tracker)) == ["I can move money."]
    assert tracker.stack[0].flow_id == "help"


def test_restart_clears_slots_and_stack(engine: Engine) -> None:
    """action_restart resets slots to their initial values."""
    tracker = engine.new_tracker("c")
    run(engine, UserText("vip status"), UserText("send money"), tracker=tracker)
    turn = run(engine, UserText("restart"), tracker=tracker)
    assert turn.state["slots"]["vip"] is False
    assert turn.state["flow_stack"] == []


def test_overridden_patterns(engine: Engine) -> None:
    """Project flows replace the built-in pattern_user_silence and pattern_completed."""
    tracker = engine.new_tracker("c")
    run(engine, SessionStart({}), tracker=tracker)
    assert texts(run(engine, Silence(1), tracker=tracker)) == ["Hallo?"]
    done = run(engine, UserText("vip status"), tracker=tracker)
    assert texts(done) == ["Welcome back, valued customer."]  # no "anything else?"


def test_tracker_json_round_trip(engine: Engine) -> None:
    """A tracker mid-flow survives to_dict/from_dict and the conversation continues."""
    tracker = engine.new_tracker("c")
    run(engine, UserText("send money"), UserText("Carol"), tracker=tracker)
    restored = Tracker.from_dict(tracker.to_dict())
    turn = run(engine, UserText("50"), tracker=restored)
    assert texts(turn) == ["Checked: ok.", "Sending 50 to Carol."]


def test_missing_file_errors_are_reported(tmp_path: Path) -> None:
    """A directory without domain.yml is a reported problem, not a crash."""
    from telephonist.dialogue.project import check_project

    problems = check_project(tmp_path)
    assert [str(p) for p in problems] == [
        "domain.yml: missing: a project needs a domain (domain.yml, or YAML files under domain/)"
    ]
