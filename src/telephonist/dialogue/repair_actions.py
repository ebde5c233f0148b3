"""Rasa's conversation-repair actions: fallbacks, clarification, search and chit-chat without
a knowledge base or a chit-chat model, interrupted flows and digressions.

Each takes the run and the pattern frame that runs it; the frame's ``context`` carries what
the pattern was started with (``names``, ``interrupting_flow_id``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from telephonist.dialogue.defaults import NOOP_ACTIONS
from telephonist.dialogue.responses import spoken_list
from telephonist.dialogue.tracker import Frame

if TYPE_CHECKING:
    from telephonist.dialogue.executor import Executor, Run

__all__ = ["RepairActions"]

Handler = Callable[["Run", "Frame | None"], None]


class RepairActions:
    """The handlers, by action name."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        say = self.say_response
        self.table: dict[str, Handler] = {
            "action_default_fallback": say("utter_default"),
            "action_default_ask_rephrase": say("utter_ask_rephrase"),
            "action_default_ask_affirmation": say("utter_ask_rephrase"),
            "action_two_stage_fallback": say("utter_ask_rephrase"),
            "action_trigger_search": say("utter_no_knowledge_base"),
            "action_trigger_chitchat": say("utter_cannot_handle"),
            "action_clarify_flows": self.clarify,
            "action_continue_interrupted_flow": self.continue_interrupted,
            "action_cancel_interrupted_flows": self.cancel_interrupted,
            "action_block_digressions": self.block_digression,
            "action_continue_digression": self.continue_digression,
            **{name: self.nothing for name in NOOP_ACTIONS},
        }

    def say_response(self, name: str) -> Handler:
        """A handler that says response ``name`` (no knowledge base, no rephraser here)."""

        def handler(run: Run, frame: Frame | None) -> None:
            self.executor.say(run, name, None if frame is None else frame.context)

        return handler

    def nothing(self, run: Run, frame: Frame | None) -> None:
        """Known, and with nothing to do in the built-in engine."""

    def clarify(self, run: Run, frame: Frame | None) -> None:
        """Spell out the candidate flows for ``utter_clarification_options_rasa``."""
        if frame is None:
            return
        names = [str(n) for n in frame.context.get("names") or []]
        frame.context["clarification_options"] = spoken_list(names, "or")

    def _interrupted(self, run: Run) -> list[Frame]:
        return [f for f in run.tracker.stack[:-1] if f.kind != "pattern"]

    def continue_interrupted(self, run: Run, frame: Frame | None) -> None:
        """Resume the interrupted flow the caller chose (``interrupted_flow_to_continue``),
        else the latest one: it is asked again when this pattern ends."""
        chosen = str(run.tracker.slots.get("interrupted_flow_to_continue") or "").lower()
        stack = run.tracker.stack
        for candidate in self._interrupted(run):
            flow = self.executor.flow(candidate.flow_id)
            if chosen in (flow.id.lower(), flow.title.lower()) and candidate.kind == "user":
                stack.remove(candidate)
                stack.insert(len(stack) - 1, candidate)
                break

    def cancel_interrupted(self, run: Run, frame: Frame | None) -> None:
        """The caller does not want to go back: drop the interrupted flows."""
        if run.tracker.stack:
            self.executor.end_below_top(run)
            run.completed_user_flow = True

    def block_digression(self, run: Run, frame: Frame | None) -> None:
        """Finish the current flow first; the requested one starts when it ends."""
        if frame is None:
            return
        wanted = str(frame.context.get("interrupting_flow_id") or "")
        stack = run.tracker.stack
        if wanted in self.executor.project.flows and all(f.flow_id != wanted for f in stack):
            stack.insert(0, self.executor.new_frame(wanted, "user"))
        self.executor.say(run, "utter_block_digressions", frame.context)

    def continue_digression(self, run: Run, frame: Frame | None) -> None:
        """Start the requested flow now; the interrupted one resumes after it."""
        if frame is None:
            return
        wanted = str(frame.context.get("interrupting_flow_id") or "")
        if wanted in self.executor.project.flows:
            self.executor.say(run, "utter_continue_interruption", frame.context)
            self.executor.push(run, wanted, "user", below=1)
