"""What a command generator's prompt is made of: the flows the caller may start (with their
descriptions and slots), the question being asked and the active flow's slots, and the
conversation so far. Pure: read from the project and one tracker.

The inputs carry the names Rasa Pro gives its prompt templates (``available_flows``,
``current_flow``, ``current_slot``, ``current_slot_description``, ``current_slot_type``,
``current_slot_allowed_values``, ``flow_slots``, ``current_conversation``,
``user_message``), so a Rasa project's own ``prompt_template`` renders unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telephonist.dialogue.flow_stack import FlowStack
from telephonist.dialogue.model import CollectStep, Flow, Slot
from telephonist.dialogue.tracker import Frame, Tracker

__all__ = ["MAX_TURNS", "PromptContext", "prompt_context"]

MAX_TURNS = 20  # conversation lines shown to the model (caller and bot together)


@dataclass(frozen=True, slots=True)
class PromptContext:
    """The template inputs, and the names a command may use (anything else is dropped)."""

    inputs: Mapping[str, Any]
    flows: frozenset[str] = frozenset()
    slots: frozenset[str] = frozenset()
    conversation_id: str = ""


def allowed_values(slot: Slot | None) -> str | None:
    """A slot's possible values as the prompt shows them (categorical and bool slots)."""
    if slot is None:
        return None
    if slot.type == "bool":
        return "[True, False]"
    if slot.type == "categorical" and slot.values:
        return "[" + ", ".join(repr(v) for v in slot.values) + "]"
    return None


def transcript(tracker: Tracker, message: str) -> str:
    """The conversation as ``USER:`` / ``AI:`` lines, the newest message last."""
    lines = []
    for event in tracker.events:
        kind, text = event.get("event"), event.get("text")
        if kind in ("user", "bot") and isinstance(text, str) and text.strip():
            lines.append(f"{'USER' if kind == 'user' else 'AI'}: {one_line(text)}")
    lines.append(f"USER: {one_line(message)}")
    return "\n".join(lines[-MAX_TURNS:])


def one_line(text: str) -> str:
    """The text without line breaks (a caller cannot add lines to the prompt)."""
    return " ".join(text.split())


class _Builder:
    def __init__(self, stack: FlowStack, tracker: Tracker) -> None:
        self.stack = stack
        self.project = stack.project
        self.tracker = tracker

    def waiting(self) -> tuple[Frame, CollectStep] | None:
        frame = self.tracker.top
        if frame is None or frame.state != "waiting" or frame.step_id is None:
            return None
        step = self.stack.flow(frame.flow_id).step(frame.step_id)
        return (frame, step) if isinstance(step, CollectStep) else None

    def fillable(self, step: CollectStep, current: CollectStep | None) -> bool:
        """Rasa's rule: a slot may be filled ahead unless it must be asked first."""
        return (
            not step.ask_before_filling
            or self.tracker.slots.get(step.slot) is not None
            or (current is not None and current.slot == step.slot)
        )

    def slot_item(self, step: CollectStep, *, with_value: bool) -> dict[str, Any]:
        slot = self.project.domain.slots.get(step.slot)
        item: dict[str, Any] = {
            "name": step.slot,
            "description": step.description,
            "allowed_values": allowed_values(slot),
        }
        if with_value:
            value = self.tracker.slots.get(step.slot)
            item["value"] = "undefined" if value is None else str(value)
            item["type"] = slot.type if slot is not None else "text"
        return item

    def startable(self) -> list[Flow]:
        slots = {"slots": self.tracker.slots}
        flows = (self.project.flows[f] for f in self.project.user_flow_ids)
        return [f for f in flows if f.guard is None or f.guard.evaluate(slots)]

    def active_flow(self) -> Flow | None:
        for frame in reversed(self.tracker.stack):
            if frame.kind in ("user", "call"):
                return self.stack.flow(frame.flow_id)
        return None


def prompt_context(stack: FlowStack, tracker: Tracker, message: str) -> PromptContext:
    """The inputs for the prompt about ``message`` (the caller's newest words)."""
    build = _Builder(stack, tracker)
    waiting = build.waiting()
    current = waiting[1] if waiting is not None else None
    active = build.active_flow()
    if waiting is not None and active is None:
        active = stack.flow(waiting[0].flow_id)  # a pattern's own question
    flow_steps = [] if active is None else stack.collects(active)
    if current is not None and all(s.slot != current.slot for s in flow_steps):
        flow_steps.append(current)
    flow_slots = [
        build.slot_item(s, with_value=True) for s in flow_steps if build.fillable(s, current)
    ]
    flows = build.startable()
    available: list[dict[str, Any]] = [
        {
            "name": flow.id,
            "description": flow.description or flow.title,
            "slots": [
                build.slot_item(s, with_value=False)
                for s in stack.collects(flow)
                if build.fillable(s, None)
            ],
        }
        for flow in flows
    ]
    current_slot = build.project.domain.slots.get(current.slot) if current else None
    inputs = {
        "available_flows": available,
        "current_flow": active.id if active is not None else None,
        "current_slot": current.slot if current else None,
        "current_slot_description": current.description if current else None,
        "current_slot_type": current_slot.type if current_slot else None,
        "current_slot_allowed_values": allowed_values(current_slot),
        "flow_slots": flow_slots,
        "current_conversation": transcript(tracker, message),
        "user_message": one_line(message),
    }
    names = {i["name"] for i in flow_slots} | {s["name"] for f in available for s in f["slots"]}
    return PromptContext(
        inputs=inputs,
        flows=frozenset(f.id for f in flows),
        slots=frozenset(names),
        conversation_id=tracker.conversation_id,
    )
