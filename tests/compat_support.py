"""Helpers of the compatibility suite (tests/dialogue/compat): its fixture projects and a
caller that talks to the real engine, answering custom actions from a script."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from telephonist.dialogue.commands import Command
from telephonist.dialogue.engine import Engine
from telephonist.dialogue.project import Project, load_project
from telephonist.dialogue.tracker import Tracker
from telephonist.dialogue.turns import AssistantTurn, SessionStart, UserEvent, UserText

PROJECTS = Path(__file__).parent / "dialogue" / "compat" / "projects"
ActionResult = tuple[list[dict[str, Any]], list[dict[str, Any]]]
Action = Callable[[Tracker], ActionResult]


def copy_project(name: str, target: Path) -> Path:
    """A private copy of fixture project ``name`` (the engine writes a cache into it)."""
    destination = target / name
    shutil.copytree(PROJECTS / name, destination)
    return destination


def loaded(name: str, factory: pytest.TempPathFactory) -> Project:
    """Fixture project ``name``, copied and loaded (for module-scoped fixtures)."""
    return load_project(copy_project(name, factory.mktemp(name)))


class Caller:
    """One conversation with the engine; custom actions answer from ``actions``."""

    def __init__(self, project: Project, actions: dict[str, Action] | None = None) -> None:
        self.engine = Engine(project, has_action_server=True, now=lambda: 1000.0, seed=3)
        self.tracker = self.engine.new_tracker("compat-call")
        self.actions = actions or {}
        self.ran: list[str] = []
        self.last: AssistantTurn | None = None

    def send(self, event: UserEvent, commands: Sequence[Command] | None = None) -> list[str]:
        """Apply ``event`` (with a command generator's ``commands``); what the bot says."""
        run = self.engine.begin(self.tracker, event, commands)
        while run.pending_action is not None:
            name = run.pending_action
            self.ran.append(name)
            handler = self.actions.get(name)
            if handler is None:
                run = self.engine.action_failed(run)
            else:
                events, responses = handler(self.tracker)
                run = self.engine.resume(run, events, responses)
        self.last = self.engine.finish(run)
        return [m.text for m in self.last.messages]

    def call(self) -> list[str]:
        """The call connects."""
        return self.send(SessionStart({}))

    def say(self, text: str) -> list[str]:
        """The caller says ``text``."""
        return self.send(UserText(text, source="typed"))

    def says(self, *lines: str) -> list[str]:
        """The caller says each of ``lines`` in turn; what the bot said to the last one."""
        answer: list[str] = []
        for line in lines:
            answer = self.say(line)
        return answer

    def command(self, *commands: Command, text: str = "...") -> list[str]:
        """The caller says ``text`` and a command generator makes ``commands`` of it."""
        return self.send(UserText(text, source="typed"), commands)

    @property
    def flows(self) -> list[str]:
        """The flow stack, bottom first."""
        return [f.flow_id for f in self.tracker.stack]

    def slot(self, name: str) -> Any:
        """A slot's current value."""
        return self.tracker.slots.get(name)


def slot_set(name: str, value: Any) -> dict[str, Any]:
    """A Rasa ``slot`` event, as an action server returns it."""
    return {"event": "slot", "name": name, "value": value}
