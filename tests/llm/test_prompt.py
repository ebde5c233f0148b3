"""The prompt's inputs and its rendering, pure: no model, no sockets."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.llm.conftest import PROJECTS

from telephonist.dialogue.commands import Command, SetSlot, StartFlow
from telephonist.dialogue.engine import Engine
from telephonist.dialogue.llm_context import prompt_context
from telephonist.dialogue.project import load_project
from telephonist.dialogue.turns import SessionStart, UserText
from telephonist.llm.prompt import PromptBuilder


@pytest.fixture(autouse=True)
def model_server_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parcel line's endpoints.yml reads its model server from the environment."""
    monkeypatch.setenv("PARCEL_LLM_BASE", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("PARCEL_LLM_KEY", "k")


def engine(tmp_path: Path) -> Engine:
    """An engine for a copy of the parcel line."""
    shutil.copytree(PROJECTS / "parcel_line", tmp_path / "p")
    return Engine(load_project(tmp_path / "p"), now=lambda: 5.0, seed=1)


def test_the_inputs_carry_rasas_template_variables(tmp_path: Path) -> None:
    """After the model started a flow and gave a value: the active flow, the question
    asked (with its type and allowed values), the values so far, the call, the words."""
    parcel = engine(tmp_path)
    tracker = parcel.new_tracker("c")
    parcel.finish(parcel.begin(tracker, SessionStart({})))
    commands: list[Command] = [StartFlow("redeliver_parcel"), SetSlot("parcel_id", "XY9")]
    parcel.finish(parcel.begin(tracker, UserText("parcel XY9 again\nplease"), commands))
    context = prompt_context(parcel.executor, tracker, "friday\n would be good")
    inputs = context.inputs
    assert inputs["current_flow"] == "redeliver_parcel"
    assert (inputs["current_slot"], inputs["current_slot_type"]) == ("delivery_day", "categorical")
    assert inputs["current_slot_description"] == "a weekday for the new delivery"
    assert inputs["current_slot_allowed_values"].startswith("['monday', 'tuesday'")
    assert [(s["name"], s["value"]) for s in inputs["flow_slots"]] == [
        ("parcel_id", "XY9"),
        ("delivery_day", "undefined"),
    ]
    assert inputs["current_conversation"] == (
        "AI: Parcel line, how can I help?\n"
        "USER: parcel XY9 again please\n"
        "AI: Which weekday should we bring it?\n"
        "USER: friday would be good"
    )
    assert inputs["user_message"] == "friday would be good"
    assert [f["name"] for f in inputs["available_flows"]] == [
        "track_parcel",
        "redeliver_parcel",
        "goodbye",
    ]
    assert context.flows == {"track_parcel", "redeliver_parcel", "goodbye"}
    assert context.slots == {"parcel_id", "delivery_day"}


def test_our_prompt_and_a_projects_own_render_the_same_inputs(tmp_path: Path) -> None:
    """Ours asks for the compact commands; a Rasa-style template gets the same values."""
    parcel = engine(tmp_path)
    tracker = parcel.new_tracker("c")
    context = prompt_context(parcel.executor, tracker, "hello")
    ours = PromptBuilder().render(context)
    assert "start flow NAME" in ours and "set slot NAME VALUE" in ours
    assert "- goodbye: The caller has what they needed and wants to end the call." in ours
    assert ours.rstrip().endswith('Commands for the caller\'s last words, "hello":')
    rasa_style = (
        "{% for flow in available_flows %}{{ flow.name }}|{% endfor %}"
        "{{ current_flow }}|{{ user_message | to_json_escaped_string }}"
    )
    assert PromptBuilder(rasa_style).render(context) == (
        "track_parcel|redeliver_parcel|goodbye|None|hello"
    )
