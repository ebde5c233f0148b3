"""What a caller's message means for the conversation, decided with NLU: an answer to the
question being asked, a new flow, a correction of an earlier answer, or nothing understood.

This plays the part of Rasa's command generator, driven by NLU instead of an LLM; its
decisions go through the :class:`CommandProcessor` an LLM generator would use.

A waiting question gets the message first. Another flow's intent takes over only when the
NLU is confident the caller changed topic (see ``topic_change``), so a short answer such as
"checking" fills the question even when it resembles another flow's examples.

Without an LLM, a ``from_llm`` slot is filled from the answer to its own question: parsed by
the slot's type, or the whole utterance for a text slot.
"""

from __future__ import annotations

from typing import Any

from telephonist.dialogue.command_processor import CommandProcessor
from telephonist.dialogue.executor import Executor, Run
from telephonist.dialogue.model import CollectStep, Config, Flow, Slot
from telephonist.dialogue.nlu import ParsedMessage
from telephonist.dialogue.slot_filling import coerce, dtmf_value, entity_values, value_for_step
from telephonist.dialogue.topic_change import TopicChange
from telephonist.dialogue.tracker import Frame

__all__ = ["Understanding"]

_FREE_TEXT = ("from_text", "from_llm")


class Understanding:
    """Turns one parsed message into changes on the tracker's stack and slots."""

    def __init__(self, executor: Executor, config: Config) -> None:
        self.executor = executor
        self.project = executor.project
        self.threshold = config.fallback_threshold
        self.topic = TopicChange(config, self.project.domain, self.project.nlu)
        self.commands = CommandProcessor(executor)

    def handle(self, run: Run, parsed: ParsedMessage, source: str) -> None:
        """Apply the message; the executor then runs whatever it started."""
        waiting = self.commands.waiting(run)
        if waiting is not None:
            self.answer(run, *waiting, parsed, source)
            return
        if source == "dtmf":
            self.commands.cannot_handle(run)
            return
        trigger = self.trigger(run, parsed)
        if trigger is not None:
            self.start(run, trigger, parsed)
        elif not self.commands.correct(run, self.values(run, parsed)):
            self.commands.cannot_handle(run)

    def answer(
        self,
        run: Run,
        frame: Frame,
        step: CollectStep,
        parsed: ParsedMessage,
        source: str,
    ) -> None:
        """The caller replied while a collect step was waiting."""
        slot = self.project.domain.slots.get(step.slot)
        if slot is None:
            raise LookupError(f"unknown slot {step.slot!r}")
        if step.dtmf is not None and not step.dtmf.allow_audio_input and source != "dtmf":
            frame.state = "ready"  # keys only: the question is asked again
            return
        if source == "dtmf" or step.force_slot_filling:
            self.direct_answer(run, frame, step, slot, parsed, source)
            return
        action = self.filling_action(slot)
        if action is not None:
            frame.state = "filling"
            self.executor.custom_action(run, action)
            return
        trigger = self.trigger(run, parsed)
        switch = trigger is not None and self.topic.leaves(step, parsed)
        values = self.values(run, parsed, trigger)
        if values.get(step.slot) is None:
            values[step.slot] = value_for_step(step, slot, parsed, self.project.nlu.synonyms)
        if values.get(step.slot) is None and not switch and self.takes_free_text(slot, parsed):
            if not any(v is not None for v in values.values()):  # it answers nothing else
                values[step.slot] = self.free_text(slot, parsed)
        if values.get(step.slot) is not None:
            self.commands.answer(run, frame, step, values)
        elif self.commands.changes(run, values):  # "no wait, thursday" corrects
            self.commands.correct(run, values)
        elif trigger is not None:
            self.start(run, trigger, parsed)
        elif not self.commands.correct(run, values):
            self.commands.cannot_handle(run)

    def direct_answer(
        self,
        run: Run,
        frame: Frame,
        step: CollectStep,
        slot: Slot,
        parsed: ParsedMessage,
        source: str,
    ) -> None:
        """Keys pressed, or a ``force_slot_filling`` question: the message can only answer."""
        synonyms = self.project.nlu.synonyms
        if source == "dtmf":
            value = dtmf_value(step, slot, parsed.text.strip(), synonyms)
        else:
            value = value_for_step(step, slot, parsed, synonyms)
            if value is None and slot.type in ("text", "any", "list"):
                value = self.free_text(slot, parsed)
        if value is None:
            self.commands.cannot_handle(run)
        else:
            self.commands.answer(run, frame, step, {step.slot: value})

    def filling_action(self, slot: Slot) -> str | None:
        """The custom action a ``custom`` mapping names, when the domain lists it."""
        for mapping in slot.mappings:
            if mapping.type == "custom" and mapping.action in self.project.domain.actions:
                return mapping.action
        return None

    def takes_free_text(self, slot: Slot, parsed: ParsedMessage) -> bool:
        """Text slots take the whole utterance unless they map only from entities/intents
        (or only from flows and actions: ``controlled``)."""
        if slot.type not in ("text", "any", "list"):
            return False
        if not slot.mappings:
            return True
        return any(
            m.type in _FREE_TEXT and (not m.intents or parsed.intent in m.intents)
            for m in slot.mappings
        )

    def free_text(self, slot: Slot, parsed: ParsedMessage) -> Any:
        """The whole utterance as the slot's value."""
        text = parsed.text.strip()
        return coerce(slot, text, self.project.nlu.synonyms) if text else None

    def values(self, run: Run, parsed: ParsedMessage, extra: Flow | None = None) -> dict[str, Any]:
        """Entity and intent values for the slots of the flows on the stack and of ``extra``
        (the flow the message asks for): the message may fill any of them."""
        flows = [self.executor.flow(f.flow_id) for f in run.tracker.stack]
        names = [s.slot for flow in (*flows, extra) if flow for s in self.executor.collects(flow)]
        slots = self.project.domain.slots
        wanted = [slots[n] for n in dict.fromkeys(names) if n in slots]
        active = [f.flow_id for f in run.tracker.stack]
        return entity_values(wanted, parsed, self.project.nlu.synonyms, active)

    def trigger(self, run: Run, parsed: ParsedMessage) -> Flow | None:
        """The flow whose ``nlu_trigger`` matches the intent, if it may start now."""
        if parsed.intent is None:
            return None
        for flow in self.project.flows.values():
            for trig in flow.triggers:
                threshold = self.threshold if trig.threshold is None else trig.threshold
                if trig.intent != parsed.intent or parsed.confidence < threshold:
                    continue
                if self.commands.can_start(run, flow.id):
                    return flow
        return None

    def start(self, run: Run, flow: Flow, parsed: ParsedMessage) -> None:
        """Start ``flow``, filling any of its slots the message already gives (and the
        ``from_trigger_intent`` slots of the intent that started it)."""
        slots = self.project.domain.slots
        names = dict.fromkeys(s.slot for s in self.executor.collects(flow))
        wanted = [slots[n] for n in names if n in slots]
        synonyms = self.project.nlu.synonyms
        values = entity_values(wanted, parsed, synonyms, (flow.id,))
        triggered = [
            s for s in slots.values() if any(m.type == "from_trigger_intent" for m in s.mappings)
        ]
        values.update(entity_values(triggered, parsed, synonyms, (flow.id,), trigger=True))
        self.commands.start(run, flow, values)
