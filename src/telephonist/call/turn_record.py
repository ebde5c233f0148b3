"""What the ``assistant.turn`` call event says about one turn: the caller's event and the
assistant's answer, for logs, metrics, the inspector and recordings."""

from __future__ import annotations

from telephonist.call.events import TurnTaken
from telephonist.dialogue.turns import AssistantTurn, UserEvent, UserText

__all__ = ["turn_record"]


def turn_record(
    event: UserEvent | AssistantTurn, turn: AssistantTurn, assistant_ms: float
) -> TurnTaken:
    """The event: what the caller did (text, source, confidence for their words) and
    what the assistant answered (messages, hang-up, its state snapshot, its command
    generator's report)."""
    said = event if isinstance(event, UserText) else None
    return TurnTaken(
        event=type(event).__name__,
        text=said.text if said else None,
        source=said.source if said else None,
        confidence=said.confidence if said else None,
        sensitive=turn.sensitive,
        assistant_ms=assistant_ms,
        messages=tuple(m.text for m in turn.messages),
        hang_up=turn.hang_up,
        state=dict(turn.state),
        llm=turn.llm,
    )
