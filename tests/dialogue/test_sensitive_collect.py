"""A collect step marked ``sensitive``: the turn that asks it says so (the channel pauses
recordings), and so does every turn while it waits; the next question does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephonist.dialogue.engine import Engine
from telephonist.dialogue.project import check_project, load_project
from telephonist.dialogue.turns import SessionStart, Silence, UserText

DOMAIN = """\
intents: [pay]
slots:
  card_number:
    type: text
  postcode:
    type: text
responses:
  utter_ask_card_number:
    - text: "Key in your card number."
  utter_ask_postcode:
    - text: "And your postcode?"
  utter_greet:
    - text: "Hello."
"""
FLOWS = """\
flows:
  pay:
    description: take a payment
    nlu_trigger:
      - intent: pay
    steps:
      - collect: card_number
        sensitive: true
        dtmf: {length: 4}
      - collect: postcode
  pattern_session_start:
    steps:
      - action: utter_greet
"""
NLU = """\
nlu:
  - intent: pay
    examples: |
      - I want to pay
      - make a payment
"""


def write(root: Path, flows: str) -> Path:
    """A project with ``flows``."""
    (root / "data").mkdir(parents=True)
    (root / "domain.yml").write_text(DOMAIN)
    (root / "data" / "nlu.yml").write_text(NLU)
    (root / "data" / "flows.yml").write_text(flows)
    return root


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """An engine over the payment project."""
    return Engine(load_project(write(tmp_path, FLOWS)), seed=1, now=lambda: 5.0)


def test_the_sensitive_question_and_its_repeats_are_marked(engine: Engine):
    """Asking, repeating on silence: sensitive; the answer moves on to a plain question."""
    tracker = engine.new_tracker("c")
    assert not engine.handle(tracker, SessionStart({})).sensitive
    asked = engine.handle(tracker, UserText("I want to pay"))
    assert [m.text for m in asked.messages] == ["Key in your card number."]
    assert asked.sensitive
    assert engine.handle(tracker, Silence(1)).sensitive
    answered = engine.handle(tracker, UserText("4242", source="dtmf"))
    assert [m.text for m in answered.messages] == ["And your postcode?"]
    assert not answered.sensitive


def test_the_state_snapshot_hides_the_secret_slot_but_not_the_others(engine: Engine):
    """The inspector's state shows a sensitive slot as [sensitive] once filled, and the
    tracker itself keeps the value (the flow still needs it)."""
    tracker = engine.new_tracker("c")
    engine.handle(tracker, SessionStart({}))
    engine.handle(tracker, UserText("I want to pay"))
    answered = engine.handle(tracker, UserText("4242", source="dtmf"))
    assert answered.state["slots"]["card_number"] == "[sensitive]"
    assert tracker.slots["card_number"] == "4242"
    tracker.slots["postcode"] = "SW1A 1AA"
    slots = tracker.snapshot(engine.sensitive_slots)["slots"]
    assert (slots["card_number"], slots["postcode"]) == ("[sensitive]", "SW1A 1AA")


def test_sensitive_must_be_a_boolean(tmp_path: Path):
    """``sensitive: maybe`` is an error located at the step's key."""
    write(tmp_path, FLOWS.replace("sensitive: true", "sensitive: maybe"))
    problems = [str(p) for p in check_project(tmp_path) if p.severity == "error"]
    assert any("sensitive" in p and "must be true or false" in p for p in problems), problems
