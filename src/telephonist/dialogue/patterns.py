"""Built-in patterns: the flows Rasa runs for conversation repair. A project overrides any of
them by defining a flow with the same id.

On a phone there is no knowledge base, chit-chat model or rephraser unless one is configured:
``pattern_search`` and ``pattern_chitchat`` say so in one short sentence and the
conversation goes on where it was.
"""

from __future__ import annotations

from telephonist.dialogue.defaults import DEFAULT_RESPONSES, DEFAULT_SLOTS
from telephonist.dialogue.flow_loader import read_flows
from telephonist.dialogue.model import Flow
from telephonist.dialogue.source import Problems, parse_document

__all__ = [
    "DEFAULT_RESPONSES",
    "DEFAULT_SLOTS",
    "INTERNAL_PATTERNS",
    "PATTERN_IDS",
    "default_patterns",
]

_PATTERNS = """
flows:
  pattern_session_start:
    description: The call connected; greet the caller.
    steps:
      - action: action_session_start
      {greet}
  pattern_session_resumed:
    description: The call's audio was lost and came back; apologise and say the last words again.
    steps:
      - action: utter_resumed
      - action: action_repeat_bot_messages
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
      - noop: true
        next:
          - if: context.reason is "cannot_handle_chitchat"
            then: cannot
          - if: context.reason is "cannot_handle_not_supported"
            then: cannot
          - if: context.reason is "cannot_handle_no_relevant_answer"
            then:
              - action: utter_no_relevant_answer_found
                next: END
          - else:
              - action: utter_ask_rephrase
                next: END
      - id: cannot
        action: utter_cannot_handle
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
        next:
          - if: not context.is_reset_only
            then:
              - action: utter_corrected_previous_input
                next: END
          - else: END
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
  pattern_restart:
    description: The caller wants to start over.
    nlu_trigger:
      - intent: restart
    steps:
      - action: action_restart
  pattern_chitchat:
    description: Small talk the assistant has no flow for.
    steps:
      - action: utter_cannot_handle
  pattern_search:
    description: A question for a knowledge base; none is configured on this line.
    steps:
      - action: utter_no_knowledge_base
  pattern_clarification:
    description: The request could mean several flows; ask which one.
    steps:
      - action: action_clarify_flows
      - action: utter_clarification_options_rasa
  pattern_skip_question:
    description: The caller wants to skip a question that must be answered.
    steps:
      - action: utter_skip_question_answer
  pattern_continue_interrupted:
    description: A flow that interrupted another one ended; go back to the first one.
    steps:
      - action: utter_flow_continue_interrupted
  pattern_code_change:
    description: The assistant changed during the conversation; start again.
    steps:
      - action: utter_inform_code_change
      - action: action_clean_stack
  pattern_handle_digressions:
    description: The caller asked for another flow where the question is protected.
    steps:
      - noop: true
        next:
          - if: context.ask_confirm
            then: confirm
          - else: block
      - id: confirm
        collect: continue_previous_flow
        ask_before_filling: true
        next:
          - if: slots.continue_previous_flow
            then: block
          - else: digress
      - id: block
        action: action_block_digressions
        next: END
      - id: digress
        action: action_continue_digression
        next: END
"""

PATTERN_IDS = (
    "pattern_session_start",
    "pattern_session_resumed",
    "pattern_session_end",
    "pattern_user_silence",
    "pattern_cannot_handle",
    "pattern_cancel_flow",
    "pattern_completed",
    "pattern_correction",
    "pattern_repeat_bot_messages",
    "pattern_human_handoff",
    "pattern_internal_error",
    "pattern_restart",
    "pattern_chitchat",
    "pattern_search",
    "pattern_clarification",
    "pattern_skip_question",
    "pattern_continue_interrupted",
    "pattern_code_change",
    "pattern_handle_digressions",
)
# Rasa patterns that describe its own collect machinery: the built-in engine's collect
# steps do this work, so an override is not run.
INTERNAL_PATTERNS = ("pattern_collect_information", "pattern_validate_slot")


def default_patterns(has_greeting: bool) -> dict[str, Flow]:
    """The built-in pattern flows; the session start greets with ``utter_greet`` if defined."""
    text = _PATTERNS.replace("{greet}", "- action: utter_greet" if has_greeting else "")
    problems = Problems()
    doc = parse_document(text, "<built-in patterns>", problems)
    flows = read_flows(doc, problems)
    assert not problems.items, problems.items
    return flows
