"""Custom actions run in-process from ``action_endpoint.actions_module`` (as in Rasa Pro)."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from telephonist.dialogue.action_module import ModuleActions
from telephonist.dialogue.assistant import ProjectAssistant
from telephonist.dialogue.model import Endpoints
from telephonist.dialogue.project import Project, check_project, load_project
from telephonist.dialogue.tracker import Tracker
from telephonist.dialogue.turns import SessionStart, UserText
from telephonist.errors import ConfigError, ProviderError
from telephonist.starter import copy_starter
from telephonist.stores import MemoryStore

pytest.importorskip("rasa_sdk", reason="rasa-sdk is not installed (telephonist[actions])")

ERROR_TEXT = "Sorry, I'm having trouble with that right now. Please try again later."

# The order look-up again, misbehaving on purpose for some order numbers.
LOOKUP = """
import threading
from rasa_sdk import Action
from rasa_sdk.events import SlotSet
from rasa_sdk.interfaces import ActionExecutionRejection

RELEASE = threading.Event()  # the test sets it to free a blocked action
STARTED = threading.Event()


class LookupOrder(Action):
    def name(self):
        return "action_lookup_order"

    def run(self, dispatcher, tracker, domain):  # a plain (blocking) function is allowed
        number = str(int(tracker.get_slot("order_number")))
        if number == "11111":
            raise RuntimeError("the order system is down")
        if number == "22222":
            STARTED.set()
            RELEASE.wait(30)  # blocks its thread, never the server's event loop
        if number == "33333":
            raise ActionExecutionRejection("action_lookup_order", "not now")
        dispatcher.utter_message(text=f"Looked up {number} in-process.")
        return [SlotSet("order_status", "in the van")]
"""


def make_project(root: Path, timeout: float = 5.0) -> Project:
    """The starter project with its actions replaced by the ``phone_actions`` package."""
    copy_starter(root)
    package = root / "phone_actions"
    (package / "orders").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "orders" / "__init__.py").write_text("")
    (package / "orders" / "lookup.py").write_text(textwrap.dedent(LOOKUP))
    (root / "endpoints.yml").write_text(
        f"action_endpoint: {{actions_module: phone_actions, timeout: {timeout}}}\n"
        "tracker_store: {type: memory}\n"
    )
    return load_project(root)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    """A project whose actions run in-process; blocked actions are freed afterwards."""
    yield make_project(tmp_path, timeout=0.5)
    module = sys.modules.get("phone_actions.orders.lookup")
    if module is not None:
        module.RELEASE.set()


async def order(assistant: ProjectAssistant, call: str, number: str) -> list[str]:
    """Ask for an order's status by keypad and return what the assistant says."""
    await assistant.handle(call, SessionStart({}))
    await assistant.handle(call, UserText("2", source="dtmf"))
    turn = await assistant.handle(call, UserText(f"{number}#", source="dtmf"))
    return [m.text for m in turn.messages]


async def test_the_starter_runs_its_own_action_in_process(tmp_path: Path) -> None:
    """Out of the box the starter's order-status flow answers from actions/actions.py."""
    copy_starter(tmp_path)
    starter = load_project(tmp_path)
    assert starter.endpoints.actions_module == "actions"
    assistant = ProjectAssistant(starter, MemoryStore())
    assert isinstance(assistant.actions, ModuleActions)
    texts = await order(assistant, "CA1", "12345")
    assert texts[:2] == ["I found your order.", "Order 12345 is out for delivery."]
    await assistant.close()


async def test_sub_packages_are_imported_and_their_actions_found(project: Project) -> None:
    """Actions in sub-modules of the package are registered, as the action server does."""
    assistant = ProjectAssistant(project, MemoryStore())
    assert isinstance(assistant.actions, ModuleActions)
    assert assistant.actions.names == ("action_lookup_order",)
    texts = await order(assistant, "CA2", "12345")
    assert texts[:2] == ["Looked up 12345 in-process.", "Order 12345 is in the van."]
    await assistant.close()


@pytest.mark.parametrize("number", ["11111", "33333"])
async def test_a_failing_action_is_the_internal_error_and_the_call_goes_on(
    project: Project, number: str
) -> None:
    """An action that raises (HTTP 500's case) or rejects (400's) says the internal-error
    response; the next question in the same call is answered normally."""
    assistant = ProjectAssistant(project, MemoryStore())
    assert await order(assistant, "CA3", number) == [ERROR_TEXT]
    turn = await assistant.handle("CA3", UserText("I'd like to book an appointment"))
    assert turn.messages and turn.messages[0].text != ERROR_TEXT
    await assistant.close()


async def test_a_blocked_action_times_out_without_blocking_the_loop(project: Project) -> None:
    """An action stuck in blocking code: other calls are served meanwhile, and after the
    timeout its own call hears the internal-error response and goes on."""
    assistant = ProjectAssistant(project, MemoryStore())
    lookup = sys.modules["phone_actions.orders.lookup"]
    stuck = asyncio.create_task(order(assistant, "CA4", "22222"))
    assert await asyncio.to_thread(lookup.STARTED.wait, 10)
    other = await assistant.handle("CA5", SessionStart({}))  # served while CA4's action blocks
    assert not stuck.done() and other.messages
    assert await stuck == [ERROR_TEXT]
    lookup.RELEASE.set()
    texts = await order(assistant, "CA4", "12345")
    assert texts[0] == "Looked up 12345 in-process."
    await assistant.close()


async def test_requests_and_answers_are_those_of_the_action_server(project: Project) -> None:
    """The action sees the JSON request the HTTP server would get, not our objects; an
    unknown action is refused as the server's 404 is (not retryable)."""
    runner = ModuleActions.load("phone_actions", project.path, project.domain, timeout=5)
    tracker = Tracker("CA6")
    tracker.slots["order_number"] = 12345.0
    result = await runner.run("action_lookup_order", tracker)
    assert result.events == [
        {"event": "slot", "timestamp": None, "name": "order_status", "value": "in the van"}
    ]
    assert result.responses[0]["text"] == "Looked up 12345 in-process."
    with pytest.raises(ProviderError, match="no such action") as error:
        await runner.run("action_missing", tracker)
    assert error.value.retryable is False


def test_a_module_that_is_missing_or_broken_stops_start_up(tmp_path: Path) -> None:
    """A missing package or one that fails to import is a ConfigError naming the key."""
    project = make_project(tmp_path)
    with pytest.raises(ConfigError, match="no module 'nowhere'") as error:
        ModuleActions.load("nowhere", project.path, project.domain, 5)
    assert error.value.key == "action_endpoint.actions_module"
    (tmp_path / "phone_actions" / "__init__.py").write_text("import no_such_dependency\n")
    sys.modules.pop("phone_actions", None)
    with pytest.raises(ConfigError, match="No module named 'no_such_dependency'"):
        ModuleActions.load("phone_actions", project.path, project.domain, 5)


def test_without_the_rasa_sdk_the_error_says_what_to_install(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No rasa_sdk installed: start-up says to install telephonist[actions]."""
    monkeypatch.setitem(sys.modules, "rasa_sdk", None)
    with pytest.raises(ConfigError, match=r"telephonist\[actions\]"):
        ModuleActions.load("phone_actions", project.path, project.domain, 5)


def test_actions_module_wins_over_url_and_is_checked(tmp_path: Path) -> None:
    """Both keys: the module runs (as in Rasa Pro); a malformed module path is a problem."""
    project = make_project(tmp_path)
    both = Endpoints(action_endpoint="http://127.0.0.1:9/webhook", actions_module="phone_actions")
    assistant = ProjectAssistant(project, MemoryStore(), both)
    assert isinstance(assistant.actions, ModuleActions)
    (tmp_path / "endpoints.yml").write_text("action_endpoint: {actions_module: 'my-actions'}\n")
    problems = [str(p) for p in check_project(tmp_path)]
    assert problems == [
        "endpoints.yml:1: action_endpoint.actions_module: must be a Python module path such "
        "as 'actions'"
    ]
