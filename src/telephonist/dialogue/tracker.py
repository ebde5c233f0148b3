"""Conversation state: slots, the flow stack and the event log of one conversation.

A tracker is plain data and round-trips through JSON (``to_dict`` / ``from_dict``), which is
what the conversation stores persist and ``telephonist export`` prints. Events use Rasa's
shapes where Rasa has one (``user``, ``bot``, ``slot``, ``flow_started`` ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["HIDDEN_VALUE", "Frame", "Tracker"]

HIDDEN_VALUE = "[sensitive]"
"""A secret slot's value in a state snapshot, as transcripts mark secret answers."""

FrameKind = Literal["user", "pattern", "call"]
# ready: run the step; waiting: the step asked and the caller's answer is due; called: a
# sub-flow runs above; asking / filling / validating: a custom action asks the question
# (``action_ask_<slot>``), fills the slot (a ``custom`` mapping) or validates it
# (``validate_<slot>``), and the collect step resumes with its result.
FrameState = Literal["ready", "waiting", "called", "asking", "filling", "validating"]


@dataclass(slots=True)
class Frame:
    """One flow on the stack; ``step_id`` is the step to run next (None: the first one)."""

    flow_id: str
    kind: FrameKind = "user"
    step_id: str | None = None
    state: FrameState = "ready"
    context: dict[str, Any] = field(default_factory=dict)
    flow_hash: str = ""  # the flow's version when it started (a changed flow restarts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "flow_id": self.flow_id,
            "kind": self.kind,
            "step_id": self.step_id,
            "state": self.state,
            "context": self.context,
            "flow_hash": self.flow_hash,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Frame:
        """Inverse of :meth:`to_dict`."""
        return cls(
            data["flow_id"],
            data.get("kind", "user"),
            data.get("step_id"),
            data.get("state", "ready"),
            dict(data.get("context") or {}),
            str(data.get("flow_hash") or ""),
        )


@dataclass(slots=True)
class Tracker:
    """Everything remembered about one conversation (one phone call)."""

    conversation_id: str
    slots: dict[str, Any] = field(default_factory=dict)
    stack: list[Frame] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    latest_message: dict[str, Any] = field(default_factory=dict)
    last_bot_messages: list[dict[str, Any]] = field(default_factory=list)
    latest_action: str | None = None

    def record(self, event: dict[str, Any], timestamp: float) -> None:
        """Append an event (``{"event": type, ...}``) with its time."""
        self.events.append({**event, "timestamp": timestamp})

    def set_slot(self, name: str, value: Any, timestamp: float) -> bool:
        """Set a slot and log it; returns False when the value did not change."""
        if name in self.slots and self.slots[name] == value:
            return False
        self.slots[name] = value
        self.record({"event": "slot", "name": name, "value": value}, timestamp)
        return True

    @property
    def top(self) -> Frame | None:
        """The frame that runs next."""
        return self.stack[-1] if self.stack else None

    def snapshot(self, hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
        """The JSON-able ``AssistantTurn.state`` (flow stack, slots, latest intent), with the
        values of the ``hidden`` slots (answers to sensitive questions) shown as
        `HIDDEN_VALUE`: the state goes to the inspector, where secrets must not."""
        intent = self.latest_message.get("intent") or {"name": None, "confidence": 0.0}
        return {
            "flow_stack": [{"flow_id": f.flow_id, "step_id": f.step_id} for f in self.stack],
            "slots": {
                name: HIDDEN_VALUE if name in hidden and value is not None else value
                for name, value in self.slots.items()
            },
            "latest_intent": dict(intent),
            "entities": list(self.latest_message.get("entities") or []),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, as stored and exported."""
        return {
            "conversation_id": self.conversation_id,
            "slots": self.slots,
            "stack": [f.to_dict() for f in self.stack],
            "events": self.events,
            "latest_message": self.latest_message,
            "last_bot_messages": self.last_bot_messages,
            "latest_action": self.latest_action,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tracker:
        """Inverse of :meth:`to_dict`."""
        return cls(
            conversation_id=data["conversation_id"],
            slots=dict(data.get("slots") or {}),
            stack=[Frame.from_dict(f) for f in data.get("stack") or []],
            events=list(data.get("events") or []),
            latest_message=dict(data.get("latest_message") or {}),
            last_bot_messages=list(data.get("last_bot_messages") or []),
            latest_action=data.get("latest_action"),
        )
