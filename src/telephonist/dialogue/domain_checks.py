"""Checks of the domain against the rest of the project: response placeholders and
conditions, slot mappings, intents without examples.

A ``{name}`` placeholder that is not a slot is fine in a response a custom action says with
``utter_message(response=..., name=...)``; only when a flow step says the response itself
(where nothing can fill it) is it reported, as a warning.
"""

from __future__ import annotations

import re

from telephonist.dialogue.checks import Checker
from telephonist.dialogue.defaults import DEFAULT_INTENTS
from telephonist.dialogue.model import ActionStep, CollectStep, Response, Slot
from telephonist.dialogue.responses import jinja_error

__all__ = ["CONTEXT_NAMES", "check_domain", "placeholders"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
# What the built-in patterns and actions put in their context for responses to read.
CONTEXT_NAMES = {
    "corrected_slots",
    "corrections",
    "is_reset_only",
    "cancelled_flow",
    "canceled_name",
    "transfer_number",
    "clarification_options",
    "names",
    "previous_flow_name",
    "interrupted_flow_options",
    "interrupted_flow_name",
    "interrupting_flow_name",
    "reason",
}


def placeholders(text: str) -> list[str]:
    """The ``{name}`` placeholders in a response text."""
    return _PLACEHOLDER.findall(text)


def _said_by_flows(checker: Checker) -> set[str]:
    """Responses a flow step says itself (as an action, a question or a rejection)."""
    said: set[str] = set()
    for flow in checker.project.flows.values():
        for step in flow.steps:
            if isinstance(step, ActionStep):
                said.add(step.action)
            elif isinstance(step, CollectStep):
                said.add(step.utter)
                said.update(r.utter for r in step.rejections if r.utter)
    return said


def _response(checker: Checker, response: Response, said: set[str]) -> None:
    domain = checker.project.domain
    doc = checker.project.sources.get(response.file)
    if doc is None:
        return
    for i, variation in enumerate(response.variations):
        path = ("responses", response.name, i, "text")
        key = f"responses.{response.name}[{i}]"
        if variation.jinja:
            error = jinja_error(variation.text)
            if error is not None:
                checker.report(doc.file, doc.line(path), f"{key}.text", f"bad Jinja: {error}")
        elif response.name in said:
            for ref in placeholders(variation.text):
                name = ref.removeprefix("slots.").removeprefix("context.")
                if name not in domain.slots and name not in CONTEXT_NAMES:
                    checker.report(
                        doc.file,
                        doc.line(path),
                        f"{key}.text",
                        f"{{{ref}}} is not a slot: a flow step says this response, so it "
                        "reads as nothing (a custom action's utter_message(response=..., "
                        f"{name}=...) can fill it)",
                        "warning",
                    )
        if variation.condition is not None:
            for unknown in sorted(variation.condition.slot_names() - set(domain.slots)):
                checker.report(
                    doc.file,
                    doc.line((*path[:3], "condition")),
                    f"{key}.condition",
                    f"unknown slot {unknown!r}",
                )


def _slot(checker: Checker, slot: Slot) -> None:
    domain = checker.project.domain
    doc = checker.project.sources.get(slot.file)
    if doc is None:
        return
    said = [r.utter for r in slot.rejections if r.utter] + [slot.refill_utter or ""]
    for name in said:
        if name and name not in domain.responses:
            checker.report(
                doc.file,
                doc.line(("slots", slot.name, "validation")),
                f"slots.{slot.name}.validation",
                f"unknown response {name!r}",
            )
    for rejection in slot.rejections:
        for unknown in sorted(rejection.condition.slot_names() - set(domain.slots)):
            checker.report(
                doc.file,
                doc.line(("slots", slot.name, "validation")),
                f"slots.{slot.name}.validation",
                f"condition uses unknown slot {unknown!r}",
            )
    for i, mapping in enumerate(slot.mappings):
        path = ("slots", slot.name, "mappings", i)
        key = f"slots.{slot.name}.mappings[{i}]"
        if mapping.entity and mapping.entity not in domain.entities:
            checker.report(
                doc.file,
                doc.line(path),
                f"{key}.entity",
                f"unknown entity {mapping.entity!r}; list it under entities",
            )
        if mapping.action is not None and mapping.action not in domain.actions:
            checker.report(
                doc.file,
                doc.line((*path, "action")),
                f"{key}.action",
                f"custom action {mapping.action!r} is not listed under actions, so this "
                "mapping fills nothing",
                "warning",
            )
        for intent in (*mapping.intents, *mapping.not_intents):
            if not checker.known_intent(intent):
                checker.report(
                    doc.file, doc.line(path), key, f"unknown intent {intent!r}", "warning"
                )


def check_domain(checker: Checker) -> None:
    """Responses, slots and intents of the project's domain."""
    domain = checker.project.domain
    said = _said_by_flows(checker)
    for response in domain.responses.values():
        _response(checker, response, said)
    for slot in domain.slots.values():
        _slot(checker, slot)
    for intent in domain.intents:
        if intent in checker.project.nlu.examples or intent in DEFAULT_INTENTS:
            continue
        doc = next(
            (d for d in checker.project.sources.values() if intent in _intents_of(d.data)),
            None,
        )
        if doc is not None:
            checker.report(
                doc.file,
                doc.line(("intents",)),
                "intents",
                f"intent {intent!r} has no NLU examples",
                "warning",
            )


def _intents_of(data: object) -> set[str]:
    raw = data.get("intents") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        return set()
    return {str(next(iter(i))) if isinstance(i, dict) else str(i) for i in raw}
