"""From a parsed message (or keypad digits) to slot values, respecting slot types."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from telephonist.dialogue.model import CollectStep, Slot
from telephonist.dialogue.nlu import ParsedMessage
from telephonist.dialogue.values import match_category, parse_bool, parse_digits, parse_number

__all__ = ["coerce", "dtmf_value", "entity_values", "value_for_step"]


def coerce(slot: Slot, value: Any, synonyms: Mapping[str, str]) -> Any:
    """``value`` converted to the slot's type, or None when it does not fit."""
    if value is None or slot.type == "any":
        return value
    if slot.type == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return parse_number(str(value))
    if slot.type == "bool":
        return value if isinstance(value, bool) else parse_bool(str(value))
    if slot.type == "categorical":
        return match_category(str(value), slot.values, synonyms)
    return str(value)


def entity_values(
    slots: Iterable[Slot],
    parsed: ParsedMessage,
    synonyms: Mapping[str, str],
) -> dict[str, Any]:
    """Values for ``slots`` from the message's entities and ``from_intent`` mappings."""
    found: dict[str, Any] = {}
    for slot in slots:
        for mapping in slot.mappings or ():
            if mapping.intents and parsed.intent not in mapping.intents:
                continue
            if parsed.intent in mapping.not_intents:
                continue
            if mapping.type == "from_entity":
                for entity in parsed.entities:
                    if entity.entity == mapping.entity:
                        value = coerce(slot, entity.value, synonyms)
                        if value is not None:
                            found[slot.name] = value
                            break
            elif mapping.type == "from_intent" and mapping.intents:
                found[slot.name] = coerce(slot, mapping.value, synonyms)
            if slot.name in found:
                break
        if slot.name not in found and not slot.mappings:
            for entity in parsed.entities:
                if entity.entity == slot.name:
                    value = coerce(slot, entity.value, synonyms)
                    if value is not None:
                        found[slot.name] = value
                        break
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
    if slot.type in ("text", "any"):
        return digits
    return coerce(slot, digits, synonyms)
