"""Custom actions on a real Rasa SDK action server started from the starter's actions/."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from telephonist.dialogue.assistant import ProjectAssistant
from telephonist.dialogue.model import Endpoints
from telephonist.dialogue.project import Project
from telephonist.dialogue.turns import SessionStart, UserText
from telephonist.stores import MemoryStore


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory, starter_path: Path) -> Iterator[str]:
    """``python -m rasa_sdk --actions actions -p PORT`` running in the starter copy."""
    pytest.importorskip("rasa_sdk", reason="rasa-sdk is not installed")
    port = _free_port()
    log = tmp_path_factory.mktemp("action-server") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "-p", str(port)],
            cwd=starter_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    try:
        while True:
            if proc.poll() is not None:
                pytest.skip(f"action server exited: {log.read_text()[-500:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.skip(f"action server not healthy after 60 s: {log.read_text()[-500:]}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def test_custom_action_sets_slot_and_sends_response(
    starter: Project, action_server: str
) -> None:
    """action_lookup_order sets order_status and utters; the flow then uses the slot."""
    assistant = ProjectAssistant(starter, MemoryStore(), Endpoints(action_endpoint=action_server))
    await assistant.handle("CA1", SessionStart({}))
    await assistant.handle("CA1", UserText("where is my order"))
    turn = await assistant.handle("CA1", UserText("one two three four five"))
    assert [m.text for m in turn.messages][:2] == [
        "I found your order.",
        "Order 12345 is out for delivery.",
    ]
    assert turn.state["slots"]["order_status"] == "out for delivery"
    assert turn.state["slots"]["order_number"] is None  # collected slots reset at flow end
    await assistant.close()


async def test_custom_action_result_for_unknown_order(starter: Project, action_server: str) -> None:
    """The action's own message and slot value come back for an unknown order."""
    assistant = ProjectAssistant(starter, MemoryStore(), Endpoints(action_endpoint=action_server))
    await assistant.handle("CA2", SessionStart({}))
    await assistant.handle("CA2", UserText("2", source="dtmf"))
    turn = await assistant.handle("CA2", UserText("99999#", source="dtmf"))
    assert [m.text for m in turn.messages][:2] == [
        "I couldn't find order 99999.",
        "Order 99999 is not in our system.",
    ]
    await assistant.close()


async def test_unknown_action_on_server_becomes_internal_error(
    starter: Project, action_server: str
) -> None:
    """A 404 from the action server (action not registered) is pattern_internal_error."""
    from telephonist.dialogue.action_server import ActionServerClient
    from telephonist.dialogue.tracker import Tracker
    from telephonist.errors import ProviderError

    client = ActionServerClient(action_server, starter.domain, timeout=5)
    with pytest.raises(ProviderError, match="HTTP 404"):
        await client.run("action_does_not_exist", Tracker("CA3"))
    await client.aclose()


async def test_in_process_answers_equal_the_action_servers(
    starter: Project, action_server: str
) -> None:
    """The same action through the HTTP server and in-process (actions_module) gives the
    same events and responses: the engine cannot tell them apart."""
    from telephonist.dialogue.action_module import ModuleActions
    from telephonist.dialogue.action_server import ActionServerClient
    from telephonist.dialogue.tracker import Tracker

    server = ActionServerClient(action_server, starter.domain, timeout=5)
    local = ModuleActions.load("actions", starter.path, starter.domain, timeout=5)
    for number in (54321.0, 99999.0):
        tracker = Tracker("CA9")
        tracker.slots["order_number"] = number
        expected = await server.run("action_lookup_order", tracker)
        assert expected.events and expected.responses
        assert await local.run("action_lookup_order", tracker) == expected
    await server.aclose()
