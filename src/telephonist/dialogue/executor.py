"""Runs flows: the stack machine that executes steps until the assistant must listen.

Sync and pure: it reads the project and mutates one :class:`Tracker` through a per-turn
:class:`Run`. A custom action does not run here: the executor stops with
``run.pending_action`` set, the caller performs the HTTP call, then calls
:meth:`Executor.apply_action_result` and :meth:`Executor.advance` again.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telephonist.dialogue.builtin_actions import BuiltinActions
from telephonist.dialogue.model import (
    END,
    ActionStep,
    CallStep,
    CollectStep,
    Flow,
    LinkStep,
    SetSlotsStep,
    Step,
)
from telephonist.dialogue.project import Project
from telephonist.dialogue.responses import render
from telephonist.dialogue.slot_filling import coerce
from telephonist.dialogue.tracker import Frame, FrameKind, Tracker

__all__ = ["NO_REASK", "Executor", "Run"]

logger = logging.getLogger(__name__)
NO_REASK = {"pattern_user_silence", "pattern_repeat_bot_messages"}
MAX_STEPS = 500


@dataclass(slots=True)
class Run:
    """What one turn has produced so far."""

    tracker: Tracker
    messages: list[dict[str, Any]] = field(default_factory=list)
    hang_up: bool = False
    transfer_to: str | None = None
    pending_action: str | None = None
    completed_user_flow: bool = False
    listen: bool = False
    ended: bool = False
    repeated: bool = False


class Executor:
    """Executes steps of the project's flows on a tracker."""

    def __init__(
        self,
        project: Project,
        transfer_number: str | None,
        now: Callable[[], float],
        rng: random.Random,
        has_action_server: bool,
    ) -> None:
        self.project = project
        self.domain = project.domain
        self.now = now
        self.rng = rng
        self.has_action_server = has_action_server
        self.builtins = BuiltinActions(self, transfer_number)

    # -- stack -------------------------------------------------------------------------------
    def flow(self, flow_id: str) -> Flow:
        """The flow with ``flow_id`` (a KeyError is an internal error: checks prevent it)."""
        return self.project.flows[flow_id]

    def push(
        self,
        run: Run,
        flow_id: str,
        kind: FrameKind | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        """Start a flow on top of the stack."""
        if kind is None:
            kind = "pattern" if flow_id.startswith("pattern_") else "user"
        run.tracker.stack.append(Frame(flow_id, kind, None, "ready", dict(context or {})))
        run.tracker.record({"event": "flow_started", "flow_id": flow_id}, self.now())

    def end_frame(self, run: Run, completed: bool) -> Frame:
        """Pop the top frame, resetting the slots its flow collected."""
        tracker = run.tracker
        frame = tracker.stack.pop()
        flow = self.project.flows.get(frame.flow_id)
        if flow is not None and frame.kind != "pattern":
            self.reset_collected(run, flow)
        tracker.record(
            {
                "event": "flow_completed" if completed else "flow_cancelled",
                "flow_id": frame.flow_id,
            },
            self.now(),
        )
        if completed and frame.kind == "user" and not tracker.stack:
            run.completed_user_flow = True
        below = tracker.top
        if below is not None and below.state == "waiting" and frame.flow_id not in NO_REASK:
            below.state = "ready"
        return frame

    def reset_collected(self, run: Run, flow: Flow) -> None:
        """Clear the slots a finished flow collected (unless persisted / not to be reset)."""
        for step in flow.steps:
            if (
                isinstance(step, CollectStep)
                and step.reset_after_flow_ends
                and step.slot not in flow.persisted_slots
            ):
                slot = self.domain.slots.get(step.slot)
                initial = None if slot is None else slot.initial_value
                run.tracker.set_slot(step.slot, initial, self.now())

    def set_slot(self, run: Run, name: str, value: Any) -> None:
        """Set a slot, converting the value to the slot's type."""
        slot = self.domain.slots.get(name)
        if slot is not None and value is not None:
            value = coerce(slot, value, self.project.nlu.synonyms)
        run.tracker.set_slot(name, value, self.now())

    def say(self, run: Run, name: str, context: dict[str, Any] | None = None) -> None:
        """Render response ``name`` and add it to the turn."""
        response = self.domain.responses.get(name)
        if response is None:
            logger.warning("dialogue.unknown_response name=%s", name)
            return
        message = render(response, run.tracker.slots, context or {}, self.rng)
        if message is not None:
            run.messages.append(message)
            run.tracker.record(
                {"event": "bot", "text": message["text"], "metadata": {"utter_action": name}},
                self.now(),
            )

    # -- stepping ----------------------------------------------------------------------------
    def advance(self, run: Run) -> None:
        """Run steps until the assistant waits for the caller, hangs up or needs an action."""
        tracker = run.tracker
        for _ in range(MAX_STEPS):
            if run.pending_action is not None or run.listen or run.hang_up or run.ended:
                return
            if run.transfer_to:
                return
            frame = tracker.top
            if frame is None:
                if run.completed_user_flow and not (run.hang_up or run.ended or run.transfer_to):
                    run.completed_user_flow = False
                    self.push(run, "pattern_completed")
                    continue
                return
            flow = self.flow(frame.flow_id)
            if frame.step_id is None:
                if not flow.steps:
                    self.end_frame(run, completed=True)
                    continue
                frame.step_id = flow.steps[0].id
            step = flow.step(frame.step_id)
            if step is None:
                raise LookupError(f"flow {flow.id!r} has no step {frame.step_id!r}")
            if frame.state == "waiting":
                return
            if frame.state == "called":
                frame.state = "ready"
                self.goto_next(run, frame, step)
                continue
            self.run_step(run, frame, flow, step)
        raise RuntimeError("flow loop: too many steps without waiting for the caller")

    def goto_next(self, run: Run, frame: Frame, step: Step) -> None:
        """Follow the step's ``next`` branches; END pops the frame."""
        scope = {"slots": run.tracker.slots, "context": frame.context}
        target = END
        for branch in step.next:
            if branch.condition is None or branch.condition.evaluate(scope):
                target = branch.target
                break
        if target == END:
            self.end_frame(run, completed=True)
        else:
            frame.step_id, frame.state = target, "ready"

    def run_step(self, run: Run, frame: Frame, flow: Flow, step: Step) -> None:
        """Execute one step of the top frame."""
        tracker = run.tracker
        if isinstance(step, CollectStep):
            filled = tracker.slots.get(step.slot) is not None
            if filled and not step.ask_before_filling:
                self.goto_next(run, frame, step)
                return
            self.say(run, step.utter)
            frame.state = "waiting"
            tracker.record({"event": "collect", "slot": step.slot, "flow_id": flow.id}, self.now())
        elif isinstance(step, ActionStep):
            self.run_action(run, frame, step)
        elif isinstance(step, SetSlotsStep):
            for name, value in step.values:
                self.set_slot(run, name, value)
            self.goto_next(run, frame, step)
        elif isinstance(step, LinkStep):
            self.end_frame(run, completed=False)
            self.push(run, step.flow)
        elif isinstance(step, CallStep):
            frame.state = "called"
            self.push(run, step.flow, "call")
        else:
            self.goto_next(run, frame, step)

    def run_action(self, run: Run, frame: Frame, step: ActionStep) -> None:
        """A response, a built-in action, or (suspending the run) a custom action."""
        name = step.action
        run.tracker.latest_action = name
        if name in self.domain.responses:
            self.say(run, name, frame.context)
            self.goto_next(run, frame, step)
        elif self.builtins.has(name):
            self.builtins.run(run, frame, name)
            if run.tracker.stack and run.tracker.top is frame and frame.step_id == step.id:
                self.goto_next(run, frame, step)
        elif not self.has_action_server:
            logger.error("dialogue.no_action_server action=%s", name)
            self.internal_error(run)
        else:
            run.pending_action = name
            run.tracker.record({"event": "action", "name": name}, self.now())

    def apply_action_result(
        self,
        run: Run,
        events: list[dict[str, Any]],
        responses: list[dict[str, Any]],
    ) -> None:
        """Apply what the action server returned and move past the action step."""
        run.pending_action = None
        tracker = run.tracker
        for event in events:
            if event.get("event") == "slot" and isinstance(event.get("name"), str):
                self.set_slot(run, event["name"], event.get("value"))
            elif event.get("event") in ("restart", "session_ended"):
                self.builtins.run(run, tracker.top, "action_restart")
        for response in responses:
            name = response.get("response") or response.get("template")
            if name and name in self.domain.responses:
                self.say(run, name, dict(response))
            elif response.get("text"):
                run.messages.append(
                    {
                        "text": str(response["text"]),
                        "ssml": None,
                        "voice": None,
                        "allow_interruptions": True,
                        "response": None,
                    }
                )
                tracker.record({"event": "bot", "text": str(response["text"])}, self.now())
        frame = tracker.top
        if frame is not None and frame.step_id is not None:
            step = self.flow(frame.flow_id).step(frame.step_id)
            if step is not None:
                self.goto_next(run, frame, step)

    def internal_error(self, run: Run) -> None:
        """Drop the running flows and say the internal-error pattern."""
        run.pending_action = None
        while run.tracker.stack:
            self.end_frame(run, completed=False)
        run.completed_user_flow = False
        self.push(run, "pattern_internal_error")
