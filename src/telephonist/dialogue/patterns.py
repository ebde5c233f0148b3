"""Built-in patterns, responses and slots. A project overrides any of them by defining a
flow, response or slot with the same name."""

from __future__ import annotations

from telephonist.dialogue.flow_loader import read_flows
from telephonist.dialogue.model import Flow, Response, ResponseVariation, Slot
from telephonist.dialogue.source import Problems, parse_document

__all__ = [
    "BUILTIN_ACTIONS",
    "DEFAULT_RESPONSES",
    "DEFAULT_SLOTS",
    "PATTERN_IDS",
    "default_patterns",
]

BUILTIN_ACTIONS = (
    "action_listen",
    "action_hangup",
    "action_restart",
    "action_transfer_call",
    "action_session_start",
    "action_repeat_bot_messages",
    "action_cancel_flow",
    "action_correct_flow_slot",
    "action_clean_stack",
)

_PATTERNS = """
flows:
  pattern_session_start:
    description: The call connected; greet the caller.
    steps:
      - action: action_session_start
      {greet}
  pattern_session_end:
    description: The call ended.
    steps:
      - action: action_hangup
  pattern_user_silence:
    description: The caller said nothing for the silence timeout.
    steps:
      - noop: true
        next:
          - if: slots.consecutive_silence_timeouts <= 1
            then:
              - action: action_repeat_bot_messages
                next: END
          - if: slots.consecutive_silence_timeouts = 2
            then:
              - action: utter_ask_still_there
                next: END
          - else:
              - action: utter_inform_hangup
              - action: action_hangup
                next: END
  pattern_cannot_handle:
    description: The assistant did not understand the caller.
    steps:
      - action: utter_ask_rephrase
  pattern_cancel_flow:
    description: The caller wants to stop what they were doing.
    nlu_trigger:
      - intent: cancel
    steps:
      - action: action_cancel_flow
      - action: utter_flow_cancelled_rasa
  pattern_completed:
    description: A flow finished and nothing else is going on.
    steps:
      - action: utter_can_do_something_else
  pattern_correction:
    description: The caller changed a value they gave earlier.
    steps:
      - action: action_correct_flow_slot
      - action: utter_corrected_previous_input
  pattern_repeat_bot_messages:
    description: The caller asked the assistant to repeat itself.
    nlu_trigger:
      - intent: repeat
    steps:
      - action: action_repeat_bot_messages
  pattern_human_handoff:
    description: The caller wants a person.
    nlu_trigger:
      - intent: human_handoff
    steps:
      - action: action_transfer_call
  pattern_internal_error:
    description: Something went wrong inside the assistant or an action.
    steps:
      - action: utter_internal_error_rasa
"""

PATTERN_IDS = (
    "pattern_session_start",
    "pattern_session_end",
    "pattern_user_silence",
    "pattern_cannot_handle",
    "pattern_cancel_flow",
    "pattern_completed",
    "pattern_correction",
    "pattern_repeat_bot_messages",
    "pattern_human_handoff",
    "pattern_internal_error",
)

_TEXTS = {
    "utter_ask_still_there": "Hello, are you still there?",
    "utter_inform_hangup": "I haven't heard from you, so I'll end our conversation shortly.",
    "utter_ask_rephrase": "I'm sorry, I didn't quite understand that. Could you rephrase?",
    "utter_can_do_something_else": "Is there anything else I can help you with?",
    "utter_flow_cancelled_rasa": "Okay, I've stopped that.",
    "utter_corrected_previous_input": "Okay, I've updated that.",
    "utter_internal_error_rasa": "Sorry, I'm having trouble with that right now. "
    "Please try again later.",
    "utter_transfer_call": "Please hold while I connect you to a person.",
    "utter_human_handoff_not_available": "Sorry, I can't connect you to a person right now.",
}
DEFAULT_RESPONSES = {
    name: Response(name, (ResponseVariation(text),)) for name, text in _TEXTS.items()
}
DEFAULT_SLOTS = {
    "silence_timeout": Slot("silence_timeout", "float"),
    "consecutive_silence_timeouts": Slot("consecutive_silence_timeouts", "float", (), 0.0),
    "session_started_metadata": Slot("session_started_metadata", "any"),
    "transfer_number": Slot("transfer_number", "text"),
}


def default_patterns(has_greeting: bool) -> dict[str, Flow]:
    """The built-in pattern flows; the session start greets with ``utter_greet`` if defined."""
    text = _PATTERNS.replace("{greet}", "- action: utter_greet" if has_greeting else "")
    problems = Problems()
    doc = parse_document(text, "<built-in patterns>", problems)
    flows = read_flows(doc, problems)
    assert not problems.items, problems.items
    return flows
