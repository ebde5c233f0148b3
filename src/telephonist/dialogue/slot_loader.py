"""``slots:`` of a domain file → :class:`Slot` values, with located problems."""

from __future__ import annotations

from typing import Any, cast

from telephonist.dialogue.conditions import ConditionSyntaxError, parse_condition
from telephonist.dialogue.fields import as_mapping, one_or_many
from telephonist.dialogue.model import Rejection, Slot, SlotMapping, SlotType
from telephonist.dialogue.source import Document, KeyPath, Problems

__all__ = ["MAPPING_TYPES", "SLOT_TYPES", "read_slot"]

SLOT_TYPES = ("text", "bool", "float", "categorical", "list", "any")
MAPPING_TYPES = (
    "from_entity",
    "from_intent",
    "from_trigger_intent",
    "from_text",
    "from_llm",
    "controlled",
    "custom",
)
# Read and accepted; they only tune Rasa's machine-learning policies or its UI.
_IGNORED_SLOT_KEYS = {
    "influence_conversation",
    "min_value",
    "max_value",
    "shared_for_coexistence",
    "description",
}
_MAPPING_KEYS = {
    "type",
    "entity",
    "intent",
    "not_intent",
    "value",
    "action",
    "conditions",
    "role",
    "group",
    "run_action_every_turn",
    "allow_nlu_correction",
}


def _active_flows(doc: Document, problems: Problems, path: KeyPath, raw: Any) -> tuple[str, ...]:
    """``conditions: [{active_flow: X}]``; form conditions (``active_loop``) never hold."""
    flows: list[str] = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        if isinstance(item, dict) and isinstance(item.get("active_flow"), str):
            flows.append(item["active_flow"])
        elif isinstance(item, dict) and "active_loop" in item:
            problems.add(
                doc,
                (*path, i),
                "condition active_loop (a form) is not supported: the built-in engine runs no "
                "forms, so this mapping never applies",
                "warning",
            )
        else:
            problems.add(doc, (*path, i), "expected {active_flow: FLOW}")
    return tuple(flows)


def _mapping(doc: Document, problems: Problems, path: KeyPath, item: Any) -> SlotMapping | None:
    if not isinstance(item, dict) or "type" not in item:
        problems.add(doc, path, "a slot mapping needs a type: " + ", ".join(MAPPING_TYPES))
        return None
    kind = item["type"]
    if kind not in MAPPING_TYPES:
        problems.add(
            doc,
            (*path, "type"),
            f"mapping type {kind!r} is not supported (supported: {', '.join(MAPPING_TYPES)})",
        )
        return None
    for key in item:
        if key not in _MAPPING_KEYS:
            problems.add(doc, (*path, key), f"unknown mapping key {key!r}", "warning")
    if kind == "from_entity" and not isinstance(item.get("entity"), str):
        problems.add(doc, (*path, "entity"), "from_entity needs an entity name")
    if kind in ("from_intent", "from_trigger_intent") and "value" not in item:
        problems.add(doc, (*path, "value"), f"{kind} needs a value")
    action = item.get("action")
    if action is not None and not isinstance(action, str):
        problems.add(doc, (*path, "action"), "must be the name of a custom action")
        action = None
    return SlotMapping(
        type=kind,
        entity=item.get("entity") if kind == "from_entity" else None,
        intents=one_or_many(item.get("intent")),
        not_intents=one_or_many(item.get("not_intent")),
        value=item.get("value"),
        action=action,
        active_flows=_active_flows(doc, problems, (*path, "conditions"), item.get("conditions")),
        role=item.get("role"),
        group=item.get("group"),
    )


def read_slot(doc: Document, problems: Problems, name: str, raw: Any) -> Slot:
    """One slot definition."""
    path: KeyPath = ("slots", name)
    data = as_mapping(doc, problems, path, raw)
    slot_type = data.get("type", "any")
    if slot_type not in SLOT_TYPES:
        problems.add(
            doc,
            (*path, "type"),
            f"slot type {slot_type!r} is not supported (supported: {', '.join(SLOT_TYPES)})",
        )
        slot_type = "any"
    for key in data:
        if key not in {
            "type",
            "values",
            "initial_value",
            "mappings",
            "validation",
            *_IGNORED_SLOT_KEYS,
        }:
            problems.add(
                doc, (*path, key), f"slot key {key!r} is not supported (ignored)", "warning"
            )
    values: tuple[str, ...] = ()
    if slot_type == "categorical":
        raw_values = data.get("values")
        if not isinstance(raw_values, list) or not raw_values:
            problems.add(doc, (*path, "values"), "a categorical slot needs a list of values")
        else:
            values = tuple(str(v) for v in raw_values)
    raw_mappings = data.get("mappings") or []
    if not isinstance(raw_mappings, list):
        problems.add(doc, (*path, "mappings"), "must be a list of mappings")
        raw_mappings = []
    mappings = [
        mapping
        for i, item in enumerate(raw_mappings)
        if (mapping := _mapping(doc, problems, (*path, "mappings", i), item)) is not None
    ]
    initial = data.get("initial_value")
    if slot_type == "list" and initial is not None and not isinstance(initial, list):
        initial = [initial]
    validation = as_mapping(doc, problems, (*path, "validation"), data.get("validation"))
    refill = validation.get("refill_utter")
    return Slot(
        name,
        cast(SlotType, slot_type),
        values,
        initial,
        tuple(mappings),
        doc.file,
        rejections(doc, problems, (*path, "validation", "rejections"), validation),
        None if refill is None else str(refill),
    )


def rejections(
    doc: Document, problems: Problems, path: KeyPath, raw: dict[str, Any]
) -> tuple[Rejection, ...]:
    """``rejections: [{if: CONDITION, utter: RESPONSE}]`` of a slot's ``validation``."""
    found = []
    for i, item in enumerate(raw.get("rejections") or []):
        if not isinstance(item, dict) or "if" not in item:
            problems.add(doc, (*path, i), "a rejection needs 'if' and 'utter'")
            continue
        try:
            found.append(Rejection(parse_condition(item["if"]), item.get("utter")))
        except ConditionSyntaxError as exc:
            problems.add(doc, (*path, i, "if"), f"bad condition {item['if']!r}: {exc}")
    return tuple(found)
