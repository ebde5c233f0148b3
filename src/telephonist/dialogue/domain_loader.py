"""The domain (``domain.yml`` and the files of ``domain/``, merged as Rasa merges them) and
``endpoints.yml`` → frozen model, with located problems.

Merging: lists (intents, entities, actions) are united in order; a slot, response or form
defined in two files keeps the first definition read (``domain.yml``, then ``domain/`` in
path order) and the second is reported as a warning, as ``rasa train`` warns.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from telephonist.dialogue.fields import as_mapping, names
from telephonist.dialogue.model import Domain, Endpoints
from telephonist.dialogue.response_loader import read_response
from telephonist.dialogue.slot_loader import read_slot
from telephonist.dialogue.source import Document, Problems

__all__ = ["DOMAIN_KEYS", "merge_domains", "read_domain", "read_endpoints"]

DOMAIN_KEYS = {
    "version",
    "intents",
    "entities",
    "slots",
    "responses",
    "actions",
    "forms",
    "session_config",
    "config",
    "e2e_actions",
}


_mapping = as_mapping  # the name read_endpoints uses


def read_domain(doc: Document, problems: Problems) -> Domain:
    """One domain file: intents, entities, slots, responses, actions, forms, session config."""
    data = _mapping(doc, problems, (), doc.data)
    for key in data:
        if key not in DOMAIN_KEYS:
            problems.add(doc, (key,), f"unknown domain key {key!r} (ignored)", "warning")
    slots = {
        str(name): read_slot(doc, problems, str(name), raw)
        for name, raw in _mapping(doc, problems, ("slots",), data.get("slots")).items()
    }
    responses = {
        str(name): read_response(doc, problems, str(name), raw)
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
    forms = _mapping(doc, problems, ("forms",), data.get("forms"))
    return Domain(
        intents=names(doc, problems, ("intents",), data.get("intents")),
        entities=names(doc, problems, ("entities",), data.get("entities")),
        slots=slots,
        responses=responses,
        actions=names(doc, problems, ("actions",), data.get("actions")),
        session_expiration_minutes=float(expiration),
        carry_over_slots=bool(session.get("carry_over_slots_to_new_session", True)),
        forms={str(name): doc.file for name in forms},
    )


def merge_domains(parts: Sequence[tuple[Document, Domain]], problems: Problems) -> Domain:
    """One domain from several files; duplicates keep the first definition (a warning)."""
    if not parts:
        return Domain()
    merged = parts[0][1]
    for doc, part in parts[1:]:
        tables: dict[str, dict[str, Any]] = {}
        for kind, mine, theirs in (
            ("slots", merged.slots, part.slots),
            ("responses", merged.responses, part.responses),
            ("forms", merged.forms, part.forms),
        ):
            table = dict(mine)
            for name, item in theirs.items():
                if name in table:
                    earlier = table[name]
                    first = earlier if isinstance(earlier, str) else getattr(earlier, "file", "")
                    problems.add(
                        doc,
                        (kind, name),
                        f"also defined in {first}; the definition there is used",
                        "warning",
                    )
                else:
                    table[name] = item
            tables[kind] = table
        session_default = Domain()
        session_first = (
            merged.session_expiration_minutes,
            merged.carry_over_slots,
        ) != (session_default.session_expiration_minutes, session_default.carry_over_slots)
        merged = dataclasses.replace(
            merged,
            intents=tuple(dict.fromkeys((*merged.intents, *part.intents))),
            entities=tuple(dict.fromkeys((*merged.entities, *part.entities))),
            actions=tuple(dict.fromkeys((*merged.actions, *part.actions))),
            slots=tables["slots"],
            responses=tables["responses"],
            forms=tables["forms"],
            session_expiration_minutes=merged.session_expiration_minutes
            if session_first
            else part.session_expiration_minutes,
            carry_over_slots=merged.carry_over_slots if session_first else part.carry_over_slots,
        )
    return merged


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
    """``action_endpoint: {url | actions_module, timeout}``, ``tracker_store: {type, ...}``
    and, kept as written for an LLM command generator, ``model_groups`` (``${VAR}`` is
    already expanded by the document reader)."""
    if doc is None:
        return Endpoints()
    data = _mapping(doc, problems, (), doc.data)
    action = _action_endpoint(doc, problems, data.get("action_endpoint"))
    store = _mapping(doc, problems, ("tracker_store",), data.get("tracker_store"))
    groups = data.get("model_groups") or []
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        problems.add(doc, ("model_groups",), "must be a list of {id, models}")
        groups = []
    return Endpoints(**action, tracker_store=dict(store), model_groups=tuple(groups))
