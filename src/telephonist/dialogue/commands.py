"""Commands: what a caller's message means for the conversation, in Rasa's vocabulary.

This is the seam a command generator fills. The built-in NLU path (``understanding``)
reaches its decisions through the same :class:`~telephonist.dialogue.command_processor.
CommandProcessor` operations; an LLM command generator produces a list of these commands
from the flows' ``description``s, the active flow's slots (``CollectStep.description``,
``Slot.fills_from_llm``) and the conversation, and hands it to
``CommandProcessor.apply``. Without one, ``from_llm`` slots are filled from the caller's
answer to their own question (see ``understanding``) and flows without an ``nlu_trigger``
start only through ``link``/``call`` — ``telephonist check`` names those that never can.
``as_text`` writes a command in Rasa Pro's compact command language, as a model answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "CancelFlow",
    "CannotHandle",
    "ChitChat",
    "Clarify",
    "Command",
    "HumanHandoff",
    "RepeatBotMessages",
    "SearchAndReply",
    "SetSlot",
    "SkipQuestion",
    "StartFlow",
    "as_text",
]


@dataclass(frozen=True, slots=True)
class StartFlow:
    """Start a flow (on top of the running one, which resumes when it ends)."""

    flow: str


@dataclass(frozen=True, slots=True)
class SetSlot:
    """Fill a slot: the answer to the question asked, a value for later, or a correction."""

    name: str
    value: Any


@dataclass(frozen=True, slots=True)
class CancelFlow:
    """Stop the running flow (``pattern_cancel_flow``)."""


@dataclass(frozen=True, slots=True)
class Clarify:
    """The message could mean several flows: ask which (``pattern_clarification``)."""

    flows: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChitChat:
    """Small talk (``pattern_chitchat``)."""


@dataclass(frozen=True, slots=True)
class SearchAndReply:
    """A knowledge question (``pattern_search``)."""


@dataclass(frozen=True, slots=True)
class HumanHandoff:
    """The caller wants a person (``pattern_human_handoff``)."""


@dataclass(frozen=True, slots=True)
class SkipQuestion:
    """The caller wants to skip the question being asked (``pattern_skip_question``)."""


@dataclass(frozen=True, slots=True)
class RepeatBotMessages:
    """Say the last bot messages again (``pattern_repeat_bot_messages``)."""


@dataclass(frozen=True, slots=True)
class CannotHandle:
    """Nothing usable was understood (``pattern_cannot_handle``, ``context.reason``)."""

    reason: str = ""


Command = (
    StartFlow
    | SetSlot
    | CancelFlow
    | Clarify
    | ChitChat
    | SearchAndReply
    | HumanHandoff
    | SkipQuestion
    | RepeatBotMessages
    | CannotHandle
)


_WORDS = {
    CancelFlow: "cancel flow",
    ChitChat: "offtopic reply",
    SearchAndReply: "provide info",
    HumanHandoff: "hand over",
    SkipQuestion: "skip question",
    RepeatBotMessages: "repeat message",
    CannotHandle: "cannot handle",
}


def as_text(command: Command) -> str:
    """The command in Rasa Pro's compact command language (``start flow transfer_money``)."""
    if isinstance(command, StartFlow):
        return f"start flow {command.flow}"
    if isinstance(command, SetSlot):
        return f"set slot {command.name} {command.value}"
    if isinstance(command, Clarify):
        return "disambiguate flows " + " ".join(command.flows)
    return _WORDS[type(command)]
