"""Runs flows: the stack machine that executes steps until the assistant must listen.

Sync and pure: it reads the project and mutates one :class:`Tracker` through a per-turn
:class:`Run`. A custom action does not run here: the executor stops with
``run.pending_action`` set, the caller performs it (action server), then calls
:meth:`Executor.apply_action_result` and :meth:`Executor.advance` again. A collect step can
hand its question (``action_ask_<slot>``), its filling (a ``custom`` slot mapping) or its
validation (``validate_<slot>``) to a custom action the same way.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

from telephonist.dialogue.builtin_actions import BuiltinActions
from telephonist.dialogue.flow_stack import NO_REASK, FlowStack, Run
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
from telephonist.dialogue.tracker import Frame

__all__ = ["NO_REASK", "Executor", "Run"]

logger = logging.getLogger(__name__)
MAX_STEPS = 500


class Executor(FlowStack):
    """Executes steps of the project's flows on a tracker."""

    def __init__(
        self,
        project: Project,
        transfer_number: str | None,
        now: Callable[[], float],
        rng: random.Random,
        has_action_server: bool,
    ) -> None:
        super().__init__(project, now)
        self.rng = rng
        self.has_action_server = has_action_server
        self.builtins = BuiltinActions(self, transfer_number)

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
                if run.completed_user_flow:
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
            if frame.state != "ready":  # an action it waited for never reported back
                frame.state = "ready"
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
            collect = {"event": "collect", "slot": step.slot, "flow_id": flow.id}
            if step.utter not in self.domain.responses and step.ask_action in self.domain.actions:
                tracker.record(collect, self.now())
                frame.state = "asking"
                self.custom_action(run, step.ask_action)
                return
            self.say(run, step.utter, frame.context)
            frame.state = "waiting"
            tracker.record(collect, self.now())
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
        else:
            self.custom_action(run, name)

    def custom_action(self, run: Run, name: str) -> None:
        """Suspend the run until the action server has run ``name``."""
        if not self.has_action_server:
            logger.error("dialogue.no_action_server action=%s", name)
            self.internal_error(run)
            return
        run.pending_action = name
        run.tracker.record({"event": "action", "name": name}, self.now())

    def validate(self, run: Run, frame: Frame, step: CollectStep) -> None:
        """Check the filled slot: rejections, then ``validate_<slot>`` when the domain lists
        it. A rejected value is cleared and the question asked again."""
        scope = {"slots": run.tracker.slots, "context": frame.context}
        frame.state = "ready"
        slot = self.domain.slots.get(step.slot)
        for rejection in (*(slot.rejections if slot else ()), *step.rejections):
            if rejection.condition.evaluate(scope):
                if rejection.utter:
                    self.say(run, rejection.utter, frame.context)
                run.tracker.record(
                    {
                        "event": "slot_rejected",
                        "name": step.slot,
                        "value": run.tracker.slots.get(step.slot),
                    },
                    self.now(),
                )
                run.tracker.set_slot(step.slot, None, self.now())
                if slot is not None and slot.refill_utter:  # asks again in its own words
                    self.say(run, slot.refill_utter, frame.context)
                    frame.state = "waiting"
                return
        if f"validate_{step.slot}" in self.domain.actions:
            frame.state = "validating"
            self.custom_action(run, f"validate_{step.slot}")
            return
        self.goto_next(run, frame, step)

    def apply_action_result(
        self,
        run: Run,
        events: list[dict[str, Any]],
        responses: list[dict[str, Any]],
    ) -> None:
        """Apply what the action server returned and move past the action."""
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
        step = None
        if frame is not None and frame.step_id is not None:
            step = self.flow(frame.flow_id).step(frame.step_id)
        if frame is None or step is None:
            return
        if isinstance(step, CollectStep) and frame.state != "ready":
            self.resume_collect(run, frame, step)
        else:
            self.goto_next(run, frame, step)

    def resume_collect(self, run: Run, frame: Frame, step: CollectStep) -> None:
        """After ``action_ask_<slot>`` wait for the answer; after a filling or validating
        action go on if the slot holds a value, else ask again."""
        state, frame.state = frame.state, "ready"
        if state == "asking":
            frame.state = "waiting"
        elif run.tracker.slots.get(step.slot) is None:
            return
        elif state == "filling":
            self.validate(run, frame, step)
        else:
            self.goto_next(run, frame, step)

    def internal_error(self, run: Run) -> None:
        """Drop the running flows and say the internal-error pattern."""
        run.pending_action = None
        while run.tracker.stack:
            self.end_frame(run, completed=False)
        run.completed_user_flow = False
        self.push(run, "pattern_internal_error")
