"""Applies commands (see ``commands``) to a conversation's flow stack and slots, as Rasa's
command processor does: answers fill the question being asked, values that change an earlier
answer start ``pattern_correction``, new flows start on top of the running one (unless the
question protects itself with ``block_digressions`` / ``ask_confirm_digressions``), and the
repair commands start their patterns with the context those patterns read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from telephonist.dialogue.commands import (
    CancelFlow,
    CannotHandle,
    ChitChat,
    Clarify,
    Command,
    HumanHandoff,
    RepeatBotMessages,
    SearchAndReply,
    SetSlot,
    SkipQuestion,
    StartFlow,
)
from telephonist.dialogue.executor import Executor, Run
from telephonist.dialogue.model import ALL_FLOWS, CollectStep, Flow
from telephonist.dialogue.tracker import Frame

__all__ = ["CommandProcessor"]

_PATTERN_OF = {
    ChitChat: "pattern_chitchat",
    SearchAndReply: "pattern_search",
    HumanHandoff: "pattern_human_handoff",
    SkipQuestion: "pattern_skip_question",
    RepeatBotMessages: "pattern_repeat_bot_messages",
}


class CommandProcessor:
    """The operations every way of understanding a message ends in."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.project = executor.project

    # -- the waiting question ----------------------------------------------------------------
    def waiting(self, run: Run) -> tuple[Frame, CollectStep] | None:
        """The top frame and its collect step, if a question waits for an answer."""
        frame = run.tracker.top
        if frame is None or frame.state != "waiting" or frame.step_id is None:
            return None
        step = self.executor.flow(frame.flow_id).step(frame.step_id)
        return (frame, step) if isinstance(step, CollectStep) else None

    def answer(self, run: Run, frame: Frame, step: CollectStep, values: Mapping[str, Any]) -> None:
        """Fill the question's slot (and any other values given with it), then validate."""
        for name, value in values.items():
            if value is not None:
                self.executor.set_slot(run, name, value)
        if run.tracker.slots.get(step.slot) is None:  # the value did not fit the slot's type
            frame.state = "ready"
            return
        self.executor.validate(run, frame, step)

    # -- slots -------------------------------------------------------------------------------
    def changes(self, run: Run, values: Mapping[str, Any]) -> dict[str, Any]:
        """The values that differ from an answer already given."""
        slots = run.tracker.slots
        return {
            name: value
            for name, value in values.items()
            if value is not None and slots.get(name) is not None and slots.get(name) != value
        }

    def correct(self, run: Run, values: Mapping[str, Any]) -> bool:
        """New values are set; values that change earlier answers start
        ``pattern_correction``. False when there was nothing to set."""
        changed = self.changes(run, values)
        new = {
            n: v
            for n, v in values.items()
            if v is not None and n not in changed and run.tracker.slots.get(n) is None
        }
        for name, value in new.items():
            self.executor.set_slot(run, name, value)
        if changed:
            context = {"corrections": changed, "corrected_slots": changed, "is_reset_only": False}
            self.executor.push(run, "pattern_correction", context=context)
            return True
        if new:
            top = run.tracker.top
            if top is not None and top.state == "waiting":
                top.state = "ready"
            return True
        return False

    # -- flows -------------------------------------------------------------------------------
    def can_start(self, run: Run, flow_id: str) -> bool:
        """A known flow that is not running already and whose guard holds."""
        flow = self.project.flows.get(flow_id)
        if flow is None or any(f.flow_id == flow_id for f in run.tracker.stack):
            return False
        return flow.guard is None or flow.guard.evaluate({"slots": run.tracker.slots})

    def start(self, run: Run, flow: Flow, values: Mapping[str, Any] | None = None) -> None:
        """Start ``flow`` with any of its slots the message already gave."""
        if flow.id == "pattern_cancel_flow":
            self.cancel(run)
            return
        for name, value in (values or {}).items():
            if value is not None:
                self.executor.set_slot(run, name, value)
        digression = None if flow.id.startswith("pattern_") else self.digression(run, flow)
        if digression is not None:
            self.executor.push(run, "pattern_handle_digressions", context=digression)
        else:
            self.executor.push(run, flow.id)

    def digression(self, run: Run, flow: Flow) -> dict[str, Any] | None:
        """The context for ``pattern_handle_digressions`` when the waiting question blocks
        or confirms a switch to ``flow``; None when the switch simply happens."""
        waiting = self.waiting(run)
        if waiting is None:
            return None
        frame, step = waiting
        current = self.executor.flow(frame.flow_id)
        confirm = {*step.ask_confirm_digressions, *current.ask_confirm_digressions}
        block = {*step.block_digressions, *current.block_digressions}
        ask = bool(confirm & {flow.id, ALL_FLOWS})
        if not ask and not block & {flow.id, ALL_FLOWS}:
            return None
        return {
            "ask_confirm": ask,
            "interrupting_flow_id": flow.id,
            "interrupting_flow_name": flow.title,
            "interrupted_flow_id": current.id,
            "interrupted_flow_name": current.title,
        }

    def cancel(self, run: Run) -> None:
        """``pattern_cancel_flow`` with the name of the flow being cancelled."""
        user = [f for f in run.tracker.stack if f.kind == "user"]
        if not user:
            self.cannot_handle(run)
            return
        flow = self.executor.flow(user[-1].flow_id)
        context = {"canceled_name": flow.title, "cancelled_flow": flow.id}
        self.executor.push(run, "pattern_cancel_flow", context=context)

    def clarify(self, run: Run, flow_ids: Iterable[str]) -> None:
        """Ask which of several flows the caller meant (one left: just start it)."""
        flows = [self.project.flows[f] for f in dict.fromkeys(flow_ids) if self.can_start(run, f)]
        if len(flows) == 1:
            self.start(run, flows[0])
        elif not flows:
            self.cannot_handle(run)
        else:
            context = {"names": [f.title for f in flows], "flows": [f.id for f in flows]}
            self.executor.push(run, "pattern_clarification", context=context)

    def cannot_handle(self, run: Run, reason: str = "") -> None:
        """``pattern_cannot_handle`` (``context.reason`` for its branches)."""
        self.executor.push(run, "pattern_cannot_handle", context={"reason": reason})

    # -- a generator's list of commands ------------------------------------------------------
    def apply(self, run: Run, commands: Sequence[Command]) -> None:
        """Apply a command generator's commands: slots first, then the flow commands.

        While a ``force_slot_filling`` question waits, only its own ``SetSlot`` counts.
        """
        waiting = self.waiting(run)
        if waiting is not None and waiting[1].force_slot_filling:
            slot = waiting[1].slot
            commands = [c for c in commands if isinstance(c, SetSlot) and c.name == slot]
        values = {c.name: c.value for c in commands if isinstance(c, SetSlot)}
        acted = False
        if waiting is not None and values.get(waiting[1].slot) is not None:
            others = {n: v for n, v in values.items() if n != waiting[1].slot}
            changed = self.changes(run, others)
            self.answer(run, *waiting, {n: v for n, v in values.items() if n not in changed})
            if changed and run.pending_action is None:  # after the answer: its frame is top
                self.correct(run, changed)
            acted = True
        elif values:
            acted = self.correct(run, values)
        for command in commands:
            acted = self.flow_command(run, command) or acted
        if not acted:
            self.cannot_handle(run)

    def flow_command(self, run: Run, command: Command) -> bool:
        """Apply one non-slot command; False when it could not apply."""
        if isinstance(command, StartFlow):
            if not self.can_start(run, command.flow):
                return False
            self.start(run, self.project.flows[command.flow])
        elif isinstance(command, CancelFlow):
            self.cancel(run)
        elif isinstance(command, Clarify):
            self.clarify(run, command.flows)
        elif isinstance(command, CannotHandle):
            self.cannot_handle(run, command.reason)
        elif type(command) in _PATTERN_OF:
            self.executor.push(run, _PATTERN_OF[type(command)])
        else:
            return False
        return True
