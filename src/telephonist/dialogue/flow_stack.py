"""The flow stack: starting and ending flows, with what Rasa does around it.

- Ending a flow resets the slots its collect steps filled, and those of the flows it called
  (a called flow's slots live as long as its caller), except persisted ones.
- When a flow that interrupted another one completes, ``pattern_continue_interrupted`` runs
  before the interrupted question is asked again.
- A conversation whose flows changed underneath it (a new version of the assistant) hears
  ``pattern_code_change`` and starts afresh, instead of resuming at a step that is gone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from telephonist.dialogue.model import CollectStep, Flow
from telephonist.dialogue.project import Project
from telephonist.dialogue.tracker import Frame, FrameKind, Tracker

__all__ = ["NO_REASK", "FlowStack", "Run"]

NO_REASK = {"pattern_user_silence", "pattern_repeat_bot_messages", "pattern_session_resumed"}


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


class FlowStack:
    """Push and pop flows on a run's tracker."""

    def __init__(self, project: Project, now: Callable[[], float]) -> None:
        self.project = project
        self.domain = project.domain
        self.now = now
        self._hashes: dict[str, str] = {}

    def flow(self, flow_id: str) -> Flow:
        """The flow with ``flow_id`` (a KeyError is an internal error: checks prevent it)."""
        return self.project.flows[flow_id]

    def flow_hash(self, flow_id: str) -> str:
        """A digest of the flow's steps: it changes when the flow is edited (not when only
        its lines move)."""
        digest = self._hashes.get(flow_id)
        if digest is None:
            flow = self.project.flows.get(flow_id)
            steps = () if flow is None else tuple(replace(s, line=None) for s in flow.steps)
            text = "" if flow is None else repr((steps, flow.persisted_slots))
            digest = hashlib.sha256(text.encode()).hexdigest()[:16]
            self._hashes[flow_id] = digest
        return digest

    def new_frame(
        self, flow_id: str, kind: FrameKind | None = None, context: dict[str, Any] | None = None
    ) -> Frame:
        """A frame that starts ``flow_id`` at its first step."""
        if kind is None:
            kind = "pattern" if flow_id.startswith("pattern_") else "user"
        return Frame(flow_id, kind, None, "ready", dict(context or {}), self.flow_hash(flow_id))

    def push(
        self,
        run: Run,
        flow_id: str,
        kind: FrameKind | None = None,
        context: dict[str, Any] | None = None,
        below: int = 0,
    ) -> None:
        """Start a flow on top of the stack (or ``below`` that many frames under the top)."""
        frame = self.new_frame(flow_id, kind, context)
        stack = run.tracker.stack
        stack.insert(len(stack) - min(below, len(stack)), frame)
        run.tracker.record({"event": "flow_started", "flow_id": flow_id}, self.now())

    def end_frame(self, run: Run, completed: bool) -> Frame:
        """Pop the top frame, resetting the slots its flow (and the flows it called) filled."""
        tracker = run.tracker
        frame = tracker.stack.pop()
        flow = self.project.flows.get(frame.flow_id)
        if flow is not None and frame.kind != "call":
            self.reset_collected(run, flow)
        tracker.record(
            {
                "event": "flow_completed" if completed else "flow_cancelled",
                "flow_id": frame.flow_id,
            },
            self.now(),
        )
        below = tracker.top
        if completed and frame.kind == "user":
            if below is None and (flow is None or flow.run_pattern_completed):
                run.completed_user_flow = True
            elif below is not None and below.kind != "pattern" and below.step_id is not None:
                owner = next((f for f in reversed(tracker.stack) if f.kind == "user"), below)
                context = {"previous_flow_name": self.flow(owner.flow_id).title}
                self.push(run, "pattern_continue_interrupted", None, context)
                return frame
        if below is not None and below.state == "waiting" and frame.flow_id not in NO_REASK:
            below.state = "ready"
        return frame

    def end_below_top(self, run: Run) -> None:
        """End every flow under the top frame (the pattern that does it stays)."""
        stack = run.tracker.stack
        if not stack:
            return
        top = stack.pop()
        while stack:
            self.end_frame(run, completed=False)
        stack.append(top)

    def reset_collected(self, run: Run, flow: Flow) -> None:
        """Clear the slots a finished flow collected (unless persisted / not to be reset)."""
        for step in self.collects(flow):
            if step.reset_after_flow_ends and step.slot not in flow.persisted_slots:
                slot = self.domain.slots.get(step.slot)
                initial = None if slot is None else slot.initial_value
                run.tracker.set_slot(step.slot, initial, self.now())

    def collects(self, flow: Flow, seen: set[str] | None = None) -> list[CollectStep]:
        """The collect steps of ``flow`` and of the flows it calls (they act as one)."""
        seen = set() if seen is None else seen
        seen.add(flow.id)
        steps = [s for s in flow.steps if isinstance(s, CollectStep)]
        for called in flow.called_flows():
            if called not in seen and called in self.project.flows:
                steps.extend(self.collects(self.project.flows[called], seen))
        return steps

    def code_changed(self, tracker: Tracker) -> bool:
        """True when a flow on the stack is gone or was edited since it started."""
        for frame in tracker.stack:
            flow = self.project.flows.get(frame.flow_id)
            if flow is None or (frame.step_id is not None and flow.step(frame.step_id) is None):
                return True
            if frame.flow_hash and frame.flow_hash != self.flow_hash(frame.flow_id):
                return True
        return False
