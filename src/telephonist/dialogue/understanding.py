"""What a caller's message means for the conversation: an answer to the question being
asked, a new flow, a correction of an earlier answer, a cancel, or nothing understood.

This plays the part of Rasa's command generator, driven by NLU instead of an LLM.
"""

from __future__ import annotations

from typing import Any

from telephonist.dialogue.executor import Executor, Run
from telephonist.dialogue.model import CollectStep, Flow, Slot
from telephonist.dialogue.nlu import ParsedMessage
from telephonist.dialogue.slot_filling import dtmf_value, entity_values, value_for_step
from telephonist.dialogue.tracker import Frame

__all__ = ["Understanding"]


class Understanding:
    """Turns one parsed message into changes on the tracker's stack and slots."""

    def __init__(self, executor: Executor, fallback_threshold: float) -> None:
        self.executor = executor
        self.project = executor.project
        self.threshold = fallback_threshold

    def handle(self, run: Run, parsed: ParsedMessage, source: str) -> None:
        """Apply the message; the executor then runs whatever it started."""
        frame = run.tracker.top
        if frame is not None and frame.state == "waiting" and frame.step_id is not None:
            step = self.executor.flow(frame.flow_id).step(frame.step_id)
            if isinstance(step, CollectStep):
                self.answer(run, frame, step, parsed, source)
                return
        if source == "dtmf":
            self.executor.push(run, "pattern_cannot_handle")
            return
        trigger = self.trigger(run, parsed)
        if trigger is not None:
            self.start(run, trigger, parsed)
        elif not self.correct(run, parsed):
            self.executor.push(run, "pattern_cannot_handle")

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
        synonyms = self.project.nlu.synonyms
        trigger = None if source == "dtmf" else self.trigger(run, parsed)
        if source == "dtmf":
            values = {step.slot: dtmf_value(step, slot, parsed.text.strip(), synonyms)}
        else:
            values = entity_values(self.flow_slots(run, trigger), parsed, synonyms)
            if values.get(step.slot) is None:
                values[step.slot] = value_for_step(step, slot, parsed, synonyms)
        if values.get(step.slot) is None and trigger is None and source != "dtmf":
            if self.takes_free_text(slot, parsed) and not self.changes(run, values):
                values[step.slot] = parsed.text.strip()
        if values.get(step.slot) is not None:
            for name, value in values.items():
                if value is not None:
                    self.executor.set_slot(run, name, value)
            self.validate(run, frame, step)
        elif self.changes(run, values):  # "no wait, thursday" corrects, whatever the intent
            self.correct(run, parsed, values)
        elif trigger is not None:
            self.start(run, trigger, parsed)
        elif not self.correct(run, parsed, values):
            self.executor.push(run, "pattern_cannot_handle")

    def takes_free_text(self, slot: Slot, parsed: ParsedMessage) -> bool:
        """Text slots take the whole utterance unless they map only from entities/intents."""
        if slot.type not in ("text", "any"):
            return False
        if not slot.mappings:
            return True
        return any(
            m.type == "from_text" and (not m.intents or parsed.intent in m.intents)
            for m in slot.mappings
        )

    def validate(self, run: Run, frame: Frame, step: CollectStep) -> None:
        """Check rejections; a rejected value is cleared and the question asked again."""
        scope = {"slots": run.tracker.slots, "context": frame.context}
        for rejection in step.rejections:
            if rejection.condition.evaluate(scope):
                if rejection.utter:
                    self.executor.say(run, rejection.utter)
                run.tracker.record(
                    {
                        "event": "slot_rejected",
                        "name": step.slot,
                        "value": run.tracker.slots.get(step.slot),
                    },
                    self.executor.now(),
                )
                run.tracker.set_slot(step.slot, None, self.executor.now())
                frame.state = "ready"
                return
        frame.state = "ready"
        self.executor.goto_next(run, frame, step)

    def flow_slots(self, run: Run, extra: Flow | None = None) -> list[Slot]:
        """Slots collected by the flows on the stack, and by ``extra`` (the flow the message
        asks for): entities may fill any of them."""
        names: list[str] = []
        for frame in run.tracker.stack:
            names.extend(self.executor.flow(frame.flow_id).collected_slots())
        if extra is not None:
            names.extend(extra.collected_slots())
        slots = self.project.domain.slots
        return [slots[n] for n in dict.fromkeys(names) if n in slots]

    def trigger(self, run: Run, parsed: ParsedMessage) -> Flow | None:
        """The flow whose ``nlu_trigger`` matches the intent, if it may start now."""
        if parsed.intent is None:
            return None
        on_stack = {f.flow_id for f in run.tracker.stack}
        scope = {"slots": run.tracker.slots}
        for flow in self.project.flows.values():
            for trig in flow.triggers:
                threshold = self.threshold if trig.threshold is None else trig.threshold
                if trig.intent != parsed.intent or parsed.confidence < threshold:
                    continue
                if flow.id in on_stack or (flow.guard and not flow.guard.evaluate(scope)):
                    continue
                return flow
        return None

    def start(self, run: Run, flow: Flow, parsed: ParsedMessage) -> None:
        """Start ``flow``, filling any of its slots the message already gives."""
        slots = self.project.domain.slots
        wanted = [slots[n] for n in flow.collected_slots() if n in slots]
        for name, value in entity_values(wanted, parsed, self.project.nlu.synonyms).items():
            if value is not None:
                self.executor.set_slot(run, name, value)
        self.executor.push(run, flow.id)

    def changes(self, run: Run, values: dict[str, Any]) -> dict[str, Any]:
        """The values that differ from an answer already given."""
        return {
            name: value
            for name, value in values.items()
            if value is not None
            and run.tracker.slots.get(name) is not None
            and run.tracker.slots.get(name) != value
        }

    def correct(
        self, run: Run, parsed: ParsedMessage, values: dict[str, Any] | None = None
    ) -> bool:
        """Entities that change an answer given earlier start ``pattern_correction``."""
        if values is None:
            values = entity_values(self.flow_slots(run), parsed, self.project.nlu.synonyms)
        changed = self.changes(run, values)
        new = {
            n: v
            for n, v in values.items()
            if v is not None and n not in changed and run.tracker.slots.get(n) is None
        }
        for name, value in new.items():
            self.executor.set_slot(run, name, value)
        if changed:
            self.executor.push(run, "pattern_correction", context={"corrections": changed})
            return True
        if new:
            top = run.tracker.top
            if top is not None and top.state == "waiting":
                top.state = "ready"
            return True
        return False
