"""From a parsed message (or keypad digits) to slot values, respecting slot types."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from telephonist.dialogue.model import CollectStep, Slot, SlotMapping
from telephonist.dialogue.nlu import ParsedMessage
from telephonist.dialogue.values import match_category, parse_bool, parse_digits, parse_number

__all__ = ["coerce", "dtmf_value", "entity_values", "value_for_step"]


def coerce(slot: Slot, value: Any, synonyms: Mapping[str, str]) -> Any:
    """``value`` converted to the slot's type, or None when it does not fit. A ``list`` slot
    holds a list (one value becomes a list of one)."""
    if value is None or slot.type == "any":
        return value
    if slot.type == "list":
        return list(value) if isinstance(value, list | tuple) else [value]
    if slot.type == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return parse_number(str(value))
    if slot.type == "bool":
        return value if isinstance(value, bool) else parse_bool(str(value))
    if slot.type == "categorical":
        return match_category(str(value), slot.values, synonyms)
    return str(value)


def _entity_value(
    slot: Slot, parsed: ParsedMessage, synonyms: Mapping[str, str], mapping: SlotMapping | None
) -> Any:
    """The slot's value from the message's entities (every match, for a list slot)."""
    name = slot.name if mapping is None else mapping.entity
    matches = [e for e in parsed.entities if e.entity == name]
    if slot.type == "list" and matches:
        return [e.value for e in matches]
    for entity in matches:
        value = coerce(slot, entity.value, synonyms)
        if value is not None:
            return value
    return None


def entity_values(
    slots: Iterable[Slot],
    parsed: ParsedMessage,
    synonyms: Mapping[str, str],
    active_flows: Collection[str] = (),
    trigger: bool = False,
) -> dict[str, Any]:
    """Values for ``slots`` from the message's entities and ``from_intent`` mappings (and
    ``from_trigger_intent`` ones when the message starts a flow: ``trigger``). A mapping
    with ``active_flows`` applies only while one of those flows runs."""
    found: dict[str, Any] = {}
    for slot in slots:
        for mapping in slot.mappings or ():
            if mapping.intents and parsed.intent not in mapping.intents:
                continue
            if parsed.intent in mapping.not_intents:
                continue
            if mapping.active_flows and not set(mapping.active_flows) & set(active_flows):
                continue
            value = None
            if mapping.type == "from_entity":
                value = _entity_value(slot, parsed, synonyms, mapping)
            elif mapping.type == "from_intent" and mapping.intents:
                value = coerce(slot, mapping.value, synonyms)
            elif mapping.type == "from_trigger_intent" and mapping.intents and trigger:
                value = coerce(slot, mapping.value, synonyms)
            if value is not None:
                found[slot.name] = value
                break
        if slot.name not in found and not slot.mappings:
            value = _entity_value(slot, parsed, synonyms, None)
            if value is not None:
                found[slot.name] = value
    return found


def value_for_step(
    step: CollectStep,
    slot: Slot,
    parsed: ParsedMessage,
    synonyms: Mapping[str, str],
) -> Any:
    """A typed value for the slot a collect step asks for, read from the whole message.

    Text slots return None here: whether free text fills them depends on whether the
    message was really an answer, which the caller decides.
    """
    text = parsed.text
    if step.dtmf is not None:
        digits = parse_digits(text)
        if digits is not None:
            return dtmf_value(step, slot, digits, synonyms)
    if slot.type == "float":
        return parse_number(text)
    if slot.type == "bool":
        return parse_bool(text)
    if slot.type == "categorical":
        return match_category(text, slot.values, synonyms)
    return None


def dtmf_value(step: CollectStep, slot: Slot, digits: str, synonyms: Mapping[str, str]) -> Any:
    """Keypad input for a collect step: finish key removed, ``dtmf.map`` applied."""
    spec = step.dtmf
    if spec is not None and spec.finish_on_key and digits.endswith(spec.finish_on_key):
        digits = digits[: -len(spec.finish_on_key)]
    if not digits:
        return None
    if spec is not None and digits in spec.mapping:
        return coerce(slot, spec.mapping[digits], synonyms)
    if slot.type == "categorical":
        return digits if digits in slot.values else None
    if slot.type in ("text", "any", "list"):
        return coerce(slot, digits, synonyms)
    return coerce(slot, digits, synonyms)
