"""The assistant as read from its project files: frozen values, no behaviour.

Flows are stored flattened: every step (including steps nested in ``then``/``else``
branches) has an id, and ``next`` is a tuple of branches whose target is a step id or END.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from telephonist.dialogue.conditions import Condition

__all__ = [
    "ALL_FLOWS",
    "END",
    "ActionStep",
    "Branch",
    "CallStep",
    "CollectStep",
    "Config",
    "Domain",
    "DtmfSpec",
    "Endpoints",
    "Example",
    "Flow",
    "LinkStep",
    "NluData",
    "NoopStep",
    "Rejection",
    "Response",
    "ResponseVariation",
    "SetSlotsStep",
    "Slot",
    "SlotMapping",
    "Step",
    "Trigger",
]

END = "END"
SlotType = Literal["text", "bool", "float", "categorical", "list", "any"]
ALL_FLOWS = "*"  # ``block_digressions: true`` / ``ask_confirm_digressions: true``


@dataclass(frozen=True, slots=True)
class SlotMapping:
    """How a slot is filled: ``from_entity``, ``from_intent``, ``from_trigger_intent``,
    ``from_text``, ``from_llm`` (by a command generator; see ``commands``), ``custom``
    (by ``action``, a custom action) or ``controlled`` (only flows and actions set it).

    ``active_flows`` restricts an NLU mapping to those flows (Rasa's ``conditions:
    [{active_flow: ...}]``).
    """

    type: str
    entity: str | None = None
    intents: tuple[str, ...] = ()
    not_intents: tuple[str, ...] = ()
    value: Any = None
    action: str | None = None
    active_flows: tuple[str, ...] = ()
    role: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Slot:
    """A named piece of conversation memory; ``file`` is the domain file defining it."""

    name: str
    type: SlotType
    values: tuple[str, ...] = ()
    initial_value: Any = None
    mappings: tuple[SlotMapping, ...] = ()
    file: str = ""
    rejections: tuple[Rejection, ...] = ()  # ``validation: {rejections, refill_utter}``
    refill_utter: str | None = None

    def fills_from_llm(self) -> bool:
        """True when a command generator (an LLM) is meant to fill this slot."""
        return any(m.type == "from_llm" for m in self.mappings)


@dataclass(frozen=True, slots=True)
class ResponseVariation:
    """One way of saying a response; ``condition`` (over slots) must hold for it to be used."""

    text: str
    condition: Condition | None = None
    ssml: str | None = None
    voice: str | None = None
    allow_interruptions: bool = True
    jinja: bool = False  # ``metadata: {template: jinja}``: ``{{ ... }}`` placeholders
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class Response:
    """An ``utter_*`` response with its variations; ``file`` is the domain file defining it."""

    name: str
    variations: tuple[ResponseVariation, ...]
    file: str = ""


@dataclass(frozen=True, slots=True)
class Domain:
    """``domain.yml``: what the assistant knows and can say."""

    intents: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    slots: Mapping[str, Slot] = field(default_factory=dict)
    responses: Mapping[str, Response] = field(default_factory=dict)
    actions: tuple[str, ...] = ()
    session_expiration_minutes: float = 60.0
    carry_over_slots: bool = True
    forms: Mapping[str, str] = field(default_factory=dict)  # form name → domain file


@dataclass(frozen=True, slots=True)
class Example:
    """A training utterance with its annotated entities ``(start, end, entity, value)``."""

    text: str
    entities: tuple[tuple[int, int, str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class NluData:
    """``data/nlu.yml``: examples per intent, synonyms, regexes and lookup tables."""

    examples: Mapping[str, tuple[Example, ...]] = field(default_factory=dict)
    synonyms: Mapping[str, str] = field(default_factory=dict)  # lower-case variant → value
    regexes: tuple[tuple[str, str], ...] = ()  # (entity name, pattern)
    lookups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Config:
    """``config.yml``: language, assistant id and NLU options.

    ``topic_change_confidence`` and ``topic_change_margin``: while a question waits, an
    intent that starts another flow may take over only with at least this confidence and
    this lead over the next intent (see ``topic_change``); otherwise the message answers.
    ``command_generator`` is the pipeline entry of an LLM command generator, as written
    (``name``, ``llm``, ``prompt_template``, ...), for the engine that runs it.
    """

    language: str = "en"
    assistant_id: str = "assistant"
    fallback_threshold: float = 0.3
    transfer_number: str | None = None
    topic_change_confidence: float = 0.8
    topic_change_margin: float = 0.3
    command_generator: Mapping[str, Any] | None = None
    pipeline: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Endpoints:
    """``endpoints.yml``: where custom actions run, the conversation store, and, kept as
    written for an LLM command generator, ``model_groups``."""

    action_endpoint: str | None = None
    """The Rasa SDK action server's webhook URL."""
    actions_module: str | None = None
    """A Python package of ``rasa_sdk`` actions run in-process (wins over the URL)."""
    action_timeout: float = 5.0
    tracker_store: Mapping[str, Any] = field(default_factory=dict)
    model_groups: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Branch:
    """Go to ``target`` (a step id or END) when ``condition`` holds (None = always)."""

    condition: Condition | None
    target: str


@dataclass(frozen=True, slots=True)
class DtmfSpec:
    """Keypad input for a collect step: a fixed ``length`` or a ``finish_on_key``."""

    length: int | None = None
    finish_on_key: str | None = None
    mapping: Mapping[str, str] = field(default_factory=dict)
    allow_audio_input: bool = True


@dataclass(frozen=True, slots=True)
class Rejection:
    """A validation rule: when ``condition`` holds after filling, say ``utter`` and ask again."""

    condition: Condition
    utter: str | None


@dataclass(frozen=True, slots=True)
class _StepBase:
    id: str
    next: tuple[Branch, ...]
    line: int | None


@dataclass(frozen=True, slots=True)
class CollectStep(_StepBase):
    """Ask for a slot (unless filled) and wait for the answer.

    The question is the response ``utter`` or, when the domain lists it, the custom action
    ``action_ask_<slot>``. ``force_slot_filling``: the answer always fills the slot (no
    topic change, no correction). ``description`` guides an LLM command generator.
    ``sensitive``: the answer is secret (a card number): call recordings pause while the
    question waits, and transcripts never hold the answer.
    """

    slot: str
    utter: str
    ask_before_filling: bool = False
    reset_after_flow_ends: bool = True
    rejections: tuple[Rejection, ...] = ()
    silence_timeout: float | None = None
    dtmf: DtmfSpec | None = None
    description: str = ""
    force_slot_filling: bool = False
    ask_confirm_digressions: tuple[str, ...] = ()
    block_digressions: tuple[str, ...] = ()
    sensitive: bool = False

    @property
    def ask_action(self) -> str:
        """The custom action that may ask this question instead of a response."""
        return f"action_ask_{self.slot}"


@dataclass(frozen=True, slots=True)
class ActionStep(_StepBase):
    """Run an action: a response (``utter_*``), a built-in or a custom action."""

    action: str


@dataclass(frozen=True, slots=True)
class SetSlotsStep(_StepBase):
    """Set slots to fixed values."""

    values: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class LinkStep(_StepBase):
    """End this flow and start another one in its place."""

    flow: str


@dataclass(frozen=True, slots=True)
class CallStep(_StepBase):
    """Run another flow as a sub-flow, then continue here."""

    flow: str


@dataclass(frozen=True, slots=True)
class NoopStep(_StepBase):
    """Do nothing; used for branching with ``next``."""


Step = CollectStep | ActionStep | SetSlotsStep | LinkStep | CallStep | NoopStep


@dataclass(frozen=True, slots=True)
class Trigger:
    """Start the flow when NLU predicts ``intent`` (above ``threshold``, if set)."""

    intent: str
    threshold: float | None = None


@dataclass(frozen=True, slots=True)
class Flow:
    """A business process: an ordered set of steps reachable from the first one."""

    id: str
    description: str = ""
    steps: tuple[Step, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    guard: Condition | None = None
    persisted_slots: tuple[str, ...] = ()
    file: str = ""
    line: int | None = None
    step_paths: Mapping[str, tuple[str | int, ...]] = field(default_factory=dict)
    name: str = ""
    always_include_in_prompt: bool = False
    run_pattern_completed: bool = True
    ask_confirm_digressions: tuple[str, ...] = ()
    block_digressions: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """How the flow is named to a caller (``name``, else the id with spaces)."""
        return self.name or self.id.replace("_", " ")

    def step(self, step_id: str) -> Step | None:
        """The step with ``step_id``, or None."""
        for step in self.steps:
            if step.id == step_id:
                return step
        return None

    def collected_slots(self) -> tuple[str, ...]:
        """Slots this flow asks for, in step order."""
        return tuple(s.slot for s in self.steps if isinstance(s, CollectStep))

    def called_flows(self) -> tuple[str, ...]:
        """Flows this flow runs with ``call`` steps."""
        return tuple(s.flow for s in self.steps if isinstance(s, CallStep))
