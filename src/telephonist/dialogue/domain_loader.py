"""``config.yml``, ``domain.yml`` and ``endpoints.yml`` → frozen model, with located problems."""

from __future__ import annotations

import re
from typing import Any, cast

from telephonist.dialogue.conditions import ConditionSyntaxError, parse_condition
from telephonist.dialogue.model import (
    Config,
    Domain,
    Endpoints,
    Response,
    ResponseVariation,
    Slot,
    SlotMapping,
    SlotType,
)
from telephonist.dialogue.source import Document, KeyPath, Problems

__all__ = ["read_config", "read_domain", "read_endpoints"]

SLOT_TYPES = ("text", "bool", "float", "categorical", "any")
MAPPING_TYPES = ("from_entity", "from_intent", "from_text", "controlled", "custom")


def _mapping(doc: Document, problems: Problems, path: KeyPath, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(doc, path, f"must be a mapping, got {type(value).__name__}")
        return {}
    return value


def _names(doc: Document, problems: Problems, path: KeyPath, value: Any) -> tuple[str, ...]:
    """A list of names; items may also be single-key mappings (``- greet: {...}``)."""
    if value is None:
        return ()
    if isinstance(value, dict):
        return tuple(str(k) for k in value)
    if not isinstance(value, list):
        problems.add(doc, path, "must be a list of names")
        return ()
    names: list[str] = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and len(item) == 1:
            names.append(str(next(iter(item))))
        else:
            problems.add(doc, (*path, i), "must be a name")
    return tuple(names)


def read_config(doc: Document | None, problems: Problems) -> Config:
    """``language``, ``assistant_id``, ``nlu.fallback_threshold`` (or a FallbackClassifier)."""
    if doc is None:
        return Config()
    data = _mapping(doc, problems, (), doc.data)
    language = data.get("language", "en")
    if not isinstance(language, str) or not language:
        problems.add(doc, ("language",), "must be a language code such as 'en'")
        language = "en"
    threshold: Any = _mapping(doc, problems, ("nlu",), data.get("nlu")).get("fallback_threshold")
    for i, item in enumerate(data.get("pipeline") or []):
        if isinstance(item, dict) and item.get("name") == "FallbackClassifier":
            threshold = item.get("threshold", threshold)
            if not isinstance(threshold, int | float):
                problems.add(doc, ("pipeline", i, "threshold"), "must be a number")
    if threshold is None:
        threshold = 0.3
    if not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        problems.add(doc, ("nlu", "fallback_threshold"), "must be a number between 0 and 1")
        threshold = 0.3
    transfer = data.get("transfer_number")
    if transfer is not None and not isinstance(transfer, str | int):
        problems.add(doc, ("transfer_number",), "must be a phone number string")
        transfer = None
    return Config(
        language=language,
        assistant_id=str(data.get("assistant_id", "assistant")),
        fallback_threshold=float(threshold),
        transfer_number=None if transfer is None else str(transfer),
    )


def _slot(doc: Document, problems: Problems, name: str, raw: Any) -> Slot:
    path: KeyPath = ("slots", name)
    data = _mapping(doc, problems, path, raw)
    slot_type = data.get("type", "any")
    if slot_type not in SLOT_TYPES:
        problems.add(
            doc,
            (*path, "type"),
            f"unknown slot type {slot_type!r}; use one of " + ", ".join(SLOT_TYPES),
        )
        slot_type = "any"
    values: tuple[str, ...] = ()
    if slot_type == "categorical":
        raw_values = data.get("values")
        if not isinstance(raw_values, list) or not raw_values:
            problems.add(doc, (*path, "values"), "a categorical slot needs a list of values")
        else:
            values = tuple(str(v) for v in raw_values)
    mappings: list[SlotMapping] = []
    for i, item in enumerate(data.get("mappings") or []):
        mpath = (*path, "mappings", i)
        if not isinstance(item, dict) or item.get("type") not in MAPPING_TYPES:
            problems.add(doc, mpath, "needs a type: " + ", ".join(MAPPING_TYPES))
            continue
        intents = item.get("intent") or ()
        not_intents = item.get("not_intent") or ()
        mappings.append(
            SlotMapping(
                type=item["type"],
                entity=item.get("entity") if item["type"] == "from_entity" else None,
                intents=(intents,) if isinstance(intents, str) else tuple(intents),
                not_intents=(not_intents,) if isinstance(not_intents, str) else tuple(not_intents),
                value=item.get("value"),
            )
        )
        if item["type"] == "from_entity" and not isinstance(item.get("entity"), str):
            problems.add(doc, (*mpath, "entity"), "from_entity needs an entity name")
        if item["type"] == "from_intent" and "value" not in item:
            problems.add(doc, (*mpath, "value"), "from_intent needs a value")
    return Slot(name, cast(SlotType, slot_type), values, data.get("initial_value"), tuple(mappings))


def _response(doc: Document, problems: Problems, name: str, raw: Any) -> Response:
    path: KeyPath = ("responses", name)
    if not isinstance(raw, list) or not raw:
        problems.add(doc, path, "must be a list of variations, each with a text")
        return Response(name, ())
    variations: list[ResponseVariation] = []
    for i, item in enumerate(raw):
        vpath = (*path, i)
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            problems.add(doc, (*vpath, "text"), "each variation needs a text string")
            continue
        condition = None
        if item.get("condition") is not None:
            condition = _response_condition(doc, problems, (*vpath, "condition"), item["condition"])
        allow = item.get("allow_interruptions", True)
        if not isinstance(allow, bool):
            problems.add(doc, (*vpath, "allow_interruptions"), "must be true or false")
            allow = True
        variations.append(
            ResponseVariation(
                text=item["text"],
                condition=condition,
                ssml=item.get("ssml"),
                voice=item.get("voice"),
                allow_interruptions=allow,
            )
        )
    return Response(name, tuple(variations))


def _response_condition(doc: Document, problems: Problems, path: KeyPath, raw: Any) -> Any:
    """Rasa's list form ``[{type: slot, name: x, value: y}]`` or one expression string."""
    if isinstance(raw, list):
        parts = []
        for i, item in enumerate(raw):
            if (
                not isinstance(item, dict)
                or item.get("type", "slot") != "slot"
                or "name" not in item
            ):
                problems.add(doc, (*path, i), "expected {type: slot, name: SLOT, value: VALUE}")
                continue
            value = item.get("value")
            rhs = str(value).lower() if isinstance(value, bool) else repr(value)
            parts.append(
                f"slots.{item['name']} is null"
                if value is None
                else f"slots.{item['name']} = {rhs}"
            )
        raw = " and ".join(parts) or "true"
    try:
        return parse_condition(raw)
    except ConditionSyntaxError as exc:
        problems.add(doc, path, f"bad condition: {exc}")
        return None


def read_domain(doc: Document | None, problems: Problems) -> Domain:
    """Intents, entities, slots, responses, custom actions and session config."""
    if doc is None:
        return Domain()
    data = _mapping(doc, problems, (), doc.data)
    slots = {
        str(name): _slot(doc, problems, str(name), raw)
        for name, raw in _mapping(doc, problems, ("slots",), data.get("slots")).items()
    }
    responses = {
        str(name): _response(doc, problems, str(name), raw)
        for name, raw in _mapping(doc, problems, ("responses",), data.get("responses")).items()
    }
    for name in responses:
        if not name.startswith("utter_"):
            problems.add(doc, ("responses", name), "response names must start with 'utter_'")
    session = _mapping(doc, problems, ("session_config",), data.get("session_config"))
    expiration = session.get("session_expiration_time", 60)
    if not isinstance(expiration, int | float):
        problems.add(doc, ("session_config", "session_expiration_time"), "must be minutes")
        expiration = 60
    return Domain(
        intents=_names(doc, problems, ("intents",), data.get("intents")),
        entities=_names(doc, problems, ("entities",), data.get("entities")),
        slots=slots,
        responses=responses,
        actions=_names(doc, problems, ("actions",), data.get("actions")),
        session_expiration_minutes=float(expiration),
        carry_over_slots=bool(session.get("carry_over_slots_to_new_session", True)),
    )


_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def _action_endpoint(doc: Document, problems: Problems, raw: Any) -> dict[str, Any]:
    """``url`` (a Rasa SDK action server), or ``actions_module`` (a Python package run
    in-process, as in Rasa Pro; it wins when both are given), and ``timeout``."""
    action = _mapping(doc, problems, ("action_endpoint",), raw)
    url, module = action.get("url"), action.get("actions_module")
    if module is not None and not (isinstance(module, str) and _MODULE.fullmatch(module)):
        problems.add(
            doc,
            ("action_endpoint", "actions_module"),
            "must be a Python module path such as 'actions'",
        )
        module = None
    if (url is not None or (action and "actions_module" not in action)) and not isinstance(
        url, str
    ):
        problems.add(
            doc,
            ("action_endpoint", "url"),
            "must be the action server URL (or set actions_module to run the actions in-process)",
        )
        url = None
    timeout = action.get("timeout", 5.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        problems.add(doc, ("action_endpoint", "timeout"), "must be a positive number of seconds")
        timeout = 5.0
    return {
        "action_endpoint": url or None,
        "actions_module": module,
        "action_timeout": float(timeout),
    }


def read_endpoints(doc: Document | None, problems: Problems) -> Endpoints:
    """``action_endpoint: {url | actions_module, timeout}`` and ``tracker_store: {type, ...}``
    (``${VAR}`` is already expanded by the document reader)."""
    if doc is None:
        return Endpoints()
    data = _mapping(doc, problems, (), doc.data)
    action = _action_endpoint(doc, problems, data.get("action_endpoint"))
    store = _mapping(doc, problems, ("tracker_store",), data.get("tracker_store"))
    return Endpoints(**action, tracker_store=dict(store))
