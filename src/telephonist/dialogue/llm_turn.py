"""Asking a command generator (an LLM) what a caller's message means, when the NLU alone
is not enough.

The NLU comes first where the project has NLU data (a fast path without a model call): it
decides alone when it is confident that an ``nlu_trigger`` intent starts a flow (at least
the generator's ``nlu_confidence``), or when the question being asked is one the NLU fills
(entities, intents, typed values, free text, a custom action) and not a ``from_llm`` slot
(nor a slot without mappings, which Rasa Pro fills with its command generator). Keys
pressed never go to the model. Everything else is the model's: its commands replace the
NLU's decision (see ``Engine.begin``). A model that fails, times out or says nothing usable
becomes ``pattern_cannot_handle`` — never an error for the call.

``CommandGenerator`` is the seam: the networking side (``telephonist.llm``) implements it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from telephonist.dialogue.commands import CannotHandle, Command, as_text
from telephonist.dialogue.engine import Engine
from telephonist.dialogue.executor import Run
from telephonist.dialogue.llm_context import PromptContext, prompt_context
from telephonist.dialogue.llm_settings import GeneratorSettings
from telephonist.dialogue.model import Slot
from telephonist.dialogue.nlu import ParsedMessage
from telephonist.dialogue.slot_filling import value_for_step
from telephonist.dialogue.tracker import Tracker
from telephonist.dialogue.turns import AssistantTurn, LlmReport, UserEvent, UserText

__all__ = ["NOTHING", "CommandGenerator", "Generated", "LLMUnderstanding", "Understood"]


@dataclass(frozen=True, slots=True)
class Generated:
    """What the model answered: the commands that parsed and named known flows and slots,
    how the request ended (``ok``, ``timeout``, ``error``, ``cut``: the stream broke after
    some commands, ``empty``), how long it took, and what was thrown away."""

    commands: tuple[Command, ...]
    outcome: str = "ok"
    latency_ms: float = 0.0
    unparsed: int = 0  # lines of the answer that are not commands
    invalid: int = 0  # commands naming a flow or slot the prompt did not offer
    model: str = ""


class CommandGenerator(Protocol):
    """Turns a prompt context into commands; never raises for a model's failure."""

    async def generate(self, context: PromptContext) -> Generated: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Understood:
    """The NLU parse (reused by the engine), the model's commands (None: the NLU decides)
    and a report for the turn's state, logs and metrics."""

    parsed: ParsedMessage | None = None
    commands: tuple[Command, ...] | None = None
    report: LlmReport | None = None
    llm_ms: float | None = None

    def annotate(self, turn: AssistantTurn) -> AssistantTurn:
        """The turn with the report and ``llm_ms`` when the generator was involved."""
        if self.report is None:
            return turn
        return replace(turn, llm=self.report, llm_ms=self.llm_ms)


NOTHING = Understood()


def fills_from_llm(slot: Slot) -> bool:
    """A ``from_llm`` slot, or one without mappings (Rasa Pro's default with a generator)."""
    return slot.fills_from_llm() or not slot.mappings


class LLMUnderstanding:
    """Decides per message between the NLU and the model, and asks the model."""

    def __init__(
        self, engine: Engine, generator: CommandGenerator, settings: GeneratorSettings
    ) -> None:
        self.engine = engine
        self.generator = generator
        self.settings = settings
        self.project = engine.project
        self.nlu_first = settings.nlu_first and bool(self.project.nlu.examples)

    async def understand(self, tracker: Tracker, event: UserEvent) -> Understood:
        """The model's commands for a spoken or typed message, unless the NLU decides."""
        if not isinstance(event, UserText) or event.source == "dtmf" or not event.text.strip():
            return NOTHING
        parsed = self.engine.interpreter.parse(event.text)
        if self.nlu_decides(tracker, parsed):
            return Understood(parsed, None, LlmReport(path="nlu"))
        result = await self.generator.generate(
            prompt_context(self.engine.executor, tracker, event.text)
        )
        commands = result.commands or (CannotHandle(),)
        report = LlmReport(
            path="llm",
            outcome=result.outcome,
            latency_ms=result.latency_ms,
            commands=tuple(as_text(c) for c in commands),
            unparsed=result.unparsed,
            invalid=result.invalid,
            model=result.model,
        )
        return Understood(parsed, commands, report, result.latency_ms)

    def nlu_decides(self, tracker: Tracker, parsed: ParsedMessage) -> bool:
        """True when the NLU's reading is enough (see the module's docstring)."""
        if not self.nlu_first:
            return False
        text = parsed.text.strip()
        if text.startswith("/") and parsed.intent == text[1:]:
            return True  # an intent typed as /name
        understanding = self.engine.understanding
        run = Run(tracker)
        trigger = understanding.trigger(run, parsed)
        confident = trigger is not None and parsed.confidence >= self.settings.nlu_confidence
        waiting = understanding.commands.waiting(run)
        if waiting is None:
            return confident
        step = waiting[1]
        slot = self.project.domain.slots.get(step.slot)
        if slot is None or fills_from_llm(slot):
            return False
        if step.force_slot_filling or understanding.filling_action(slot) is not None:
            return True
        if confident and understanding.topic.leaves(step, parsed):
            return True
        synonyms = self.project.nlu.synonyms
        if understanding.values(run, parsed).get(step.slot) is not None:
            return True
        if value_for_step(step, slot, parsed, synonyms) is not None:
            return True
        return understanding.takes_free_text(slot, parsed)

    async def aclose(self) -> None:
        """Close the generator's connections."""
        await self.generator.aclose()
