"""The built-in actions: hang up, restart, transfer, session start, repeat, cancel, correct,
and (``repair_actions``) Rasa's conversation-repair actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from telephonist.dialogue.model import CollectStep
from telephonist.dialogue.repair_actions import RepairActions
from telephonist.dialogue.tracker import Frame

if TYPE_CHECKING:
    from telephonist.dialogue.executor import Executor, Run

__all__ = ["BuiltinActions"]


class BuiltinActions:
    """Dispatch table of the actions every project has."""

    def __init__(self, executor: Executor, transfer_number: str | None) -> None:
        self.executor = executor
        self.transfer_number = transfer_number
        self.table: dict[str, Callable[[Run, Frame | None], None]] = {
            "action_listen": self.listen,
            "action_hangup": self.hangup,
            "action_restart": self.restart,
            "action_transfer_call": self.transfer,
            "action_session_start": self.session_start,
            "action_repeat_bot_messages": self.repeat,
            "action_cancel_flow": self.cancel_flow,
            "action_correct_flow_slot": self.correct_slot,
            "action_clean_stack": self.clean_stack,
            **RepairActions(executor).table,
        }

    def has(self, name: str) -> bool:
        """True for the names of built-in actions."""
        return name in self.table

    def run(self, run: Run, frame: Frame | None, name: str) -> None:
        """Execute built-in action ``name`` on behalf of ``frame``."""
        self.table[name](run, frame)

    def listen(self, run: Run, frame: Frame | None) -> None:
        """End the turn here; the flow continues after the caller's next message."""
        run.listen = True
        if frame is not None and frame.step_id is not None:
            step = self.executor.flow(frame.flow_id).step(frame.step_id)
            if step is not None:
                self.executor.goto_next(run, frame, step)

    def hangup(self, run: Run, frame: Frame | None) -> None:
        """Bot hang-up (after the goodbye plays), or record the caller's hang-up."""
        ended_by_caller = frame is not None and frame.flow_id == "pattern_session_end"
        if ended_by_caller:
            run.ended = True
        else:
            run.hang_up = True
        reason = "user disconnected" if ended_by_caller else "bot disconnected"
        run.tracker.record(
            {"event": "session_ended", "metadata": {"_reason": reason}}, self.executor.now()
        )

    def restart(self, run: Run, frame: Frame | None) -> None:
        """Forget slots and flows; the conversation starts over."""
        tracker = run.tracker
        tracker.stack.clear()
        for name, slot in self.executor.domain.slots.items():
            tracker.slots[name] = slot.initial_value
        tracker.record({"event": "restart"}, self.executor.now())
        run.completed_user_flow = False

    def transfer(self, run: Run, frame: Frame | None) -> None:
        """Transfer to the ``transfer_number`` slot, else the configured number."""
        target = run.tracker.slots.get("transfer_number") or self.transfer_number
        if target:
            run.transfer_to = str(target)
            self.executor.say(run, "utter_transfer_call", {"transfer_number": target})
            run.tracker.record({"event": "transfer", "to": str(target)}, self.executor.now())
        else:
            self.executor.say(run, "utter_human_handoff_not_available")

    def session_start(self, run: Run, frame: Frame | None) -> None:
        """Mark the start of a session (the metadata slot is set by the engine)."""
        run.tracker.record({"event": "session_started"}, self.executor.now())

    def repeat(self, run: Run, frame: Frame | None) -> None:
        """Say the previous bot messages again."""
        run.repeated = True
        for message in run.tracker.last_bot_messages:
            run.messages.append(dict(message))
            run.tracker.record(
                {"event": "bot", "text": message.get("text", ""), "metadata": {"repeated": True}},
                self.executor.now(),
            )

    def cancel_flow(self, run: Run, frame: Frame | None) -> None:
        """Cancel the flows under this pattern (the caller said stop)."""
        stack = run.tracker.stack
        cancelled = [f.flow_id for f in stack[:-1] if f.kind != "pattern"]
        if frame is not None:
            frame.context["cancelled_flow"] = cancelled[-1] if cancelled else ""
            frame.context.setdefault(
                "canceled_name", self.executor.flow(cancelled[-1]).title if cancelled else ""
            )
        self.executor.end_below_top(run)

    def correct_slot(self, run: Run, frame: Frame | None) -> None:
        """Apply the corrected values and rewind the flow to the first corrected slot."""
        if frame is None:
            return
        corrections: dict[str, Any] = frame.context.get("corrections") or {}
        for name, value in corrections.items():
            self.executor.set_slot(run, name, value)
        frame.context["corrected_slots"] = ", ".join(
            f"{name.replace('_', ' ')} to {value}" for name, value in corrections.items()
        )
        for below in reversed(run.tracker.stack[:-1]):
            flow = self.executor.flow(below.flow_id)
            steps = [s for s in flow.steps if isinstance(s, CollectStep) and s.slot in corrections]
            if steps:
                below.step_id, below.state = steps[0].id, "ready"
                break

    def clean_stack(self, run: Run, frame: Frame | None) -> None:
        """Drop every flow below the current one."""
        del run.tracker.stack[:-1]
