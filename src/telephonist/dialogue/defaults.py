"""Rasa's built-in names — default intents, actions, responses and slots — as the built-in
engine knows them. A project overrides a response or slot by defining one with the same name.

The texts are ours, short enough to be heard on a phone line.
"""

from __future__ import annotations

from telephonist.dialogue.model import Response, ResponseVariation, Slot, SlotMapping

__all__ = [
    "DEFAULT_INTENTS",
    "DEFAULT_RESPONSES",
    "DEFAULT_SLOTS",
    "NOOP_ACTIONS",
    "RASA_ACTIONS",
]

# Intents every Rasa assistant has without NLU examples (``/restart`` selects one).
DEFAULT_INTENTS = (
    "restart",
    "back",
    "out_of_scope",
    "session_start",
    "session_end",
    "silence_timeout",
    "nlu_fallback",
)

# Rasa's default actions that only tune its machine-learning policies, forms or routing
# between coexisting engines: known, and doing nothing here.
NOOP_ACTIONS = (
    "action_reset_routing",
    "action_extract_slots",
    "action_validate_slot_mappings",
    "action_deactivate_loop",
    "action_revert_fallback_events",
    "action_unlikely_intent",
    "action_back",
    "action_run_slot_rejections",
    "action_send_text",
)

# Every built-in action name (ours and Rasa's); ``builtin_actions`` runs each of them.
RASA_ACTIONS = (
    "action_listen",
    "action_hangup",
    "action_restart",
    "action_transfer_call",
    "action_session_start",
    "action_repeat_bot_messages",
    "action_cancel_flow",
    "action_correct_flow_slot",
    "action_clean_stack",
    "action_default_fallback",
    "action_default_ask_rephrase",
    "action_default_ask_affirmation",
    "action_two_stage_fallback",
    "action_clarify_flows",
    "action_trigger_search",
    "action_trigger_chitchat",
    "action_continue_interrupted_flow",
    "action_cancel_interrupted_flows",
    "action_block_digressions",
    "action_continue_digression",
    *NOOP_ACTIONS,
)

_TEXTS = {
    "utter_ask_still_there": "Hello, are you still there?",
    "utter_resumed": "Sorry, the line dropped for a moment.",
    "utter_inform_hangup": "I haven't heard from you, so I'll end our conversation shortly.",
    "utter_ask_rephrase": "I'm sorry, I didn't quite understand that. Could you rephrase?",
    "utter_default": "I'm sorry, I didn't quite understand that. Could you rephrase?",
    "utter_can_do_something_else": "Is there anything else I can help you with?",
    "utter_flow_cancelled_rasa": "Okay, I've stopped that.",
    "utter_corrected_previous_input": "Okay, I've updated that.",
    "utter_internal_error_rasa": "Sorry, I'm having trouble with that right now. "
    "Please try again later.",
    "utter_transfer_call": "Please hold while I connect you to a person.",
    "utter_human_handoff_not_available": "Sorry, I can't connect you to a person right now.",
    "utter_cannot_handle": "Sorry, that's not something I can help with.",
    "utter_free_chitchat_response": "I'm afraid I can't chat about that.",
    "utter_no_knowledge_base": "Sorry, I can't look that up.",
    "utter_no_relevant_answer_found": "Sorry, I couldn't find an answer to that.",
    "utter_clarification_options_rasa": "Sorry, did you mean {clarification_options}?",
    "utter_skip_question_answer": "I need an answer to this before we can go on.",
    "utter_inform_code_change": "Something changed on my side, so let's start again.",
    "utter_flow_continue_interrupted": "Let's get back to {previous_flow_name}.",
    "utter_ask_continue_interrupted_flow_confirmation": "Would you like to go back to "
    "{interrupted_flow_options}?",
    "utter_ask_interrupted_flow_to_continue": "Which would you like to go back to: "
    "{interrupted_flow_options}?",
    "utter_ask_continue_previous_flow": "Shall we finish {interrupted_flow_name} first?",
    "utter_block_digressions": "Let's finish this first, then I'll help with "
    "{interrupting_flow_name}.",
    "utter_continue_interruption": "Okay, let's do {interrupting_flow_name} first.",
    "utter_user_input_empty_error_rasa": "I didn't catch anything. What can I do for you?",
    "utter_user_input_too_long_error_rasa": "Sorry, that was too long for me. "
    "Could you say it more briefly?",
    "utter_boolean_slot_rejection": "Sorry, please answer yes or no.",
    "utter_categorical_slot_rejection": "Sorry, that isn't one of the options.",
    "utter_float_slot_rejection": "Sorry, I need a number for that.",
}
DEFAULT_RESPONSES = {
    name: Response(name, (ResponseVariation(text),), "<built-in>") for name, text in _TEXTS.items()
}

_LLM = (SlotMapping("from_llm"),)
DEFAULT_SLOTS = {
    "silence_timeout": Slot("silence_timeout", "float"),
    "consecutive_silence_timeouts": Slot("consecutive_silence_timeouts", "float", (), 0.0),
    "session_started_metadata": Slot("session_started_metadata", "any"),
    "transfer_number": Slot("transfer_number", "text"),
    "confirm_correction": Slot("confirm_correction", "bool", mappings=_LLM),
    "continue_interrupted_flow_confirmation": Slot(
        "continue_interrupted_flow_confirmation", "bool", mappings=_LLM
    ),
    "interrupted_flow_to_continue": Slot("interrupted_flow_to_continue", "text", mappings=_LLM),
    "continue_previous_flow": Slot("continue_previous_flow", "bool", mappings=_LLM),
}
