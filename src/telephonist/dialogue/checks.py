"""Cross-file checks of a project: every name a flow or response uses must exist, every
step must be reachable. Used by ``telephonist check``, by ``run`` before it opens its port,
and by :func:`load_project`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

from telephonist.dialogue.model import (
    END,
    ActionStep,
    CallStep,
    CollectStep,
    Flow,
    LinkStep,
    SetSlotsStep,
    Step,
)
from telephonist.dialogue.patterns import BUILTIN_ACTIONS, PATTERN_IDS
from telephonist.dialogue.source import Problem

if TYPE_CHECKING:
    from telephonist.dialogue.project import Project

__all__ = ["check", "placeholders"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
CONTEXT_NAMES = {"corrected_slots", "cancelled_flow", "transfer_number"}


def placeholders(text: str) -> list[str]:
    """The ``{name}`` placeholders in a response text."""
    return _PLACEHOLDER.findall(text)


class _Checker:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.problems: list[Problem] = []

    def report(
        self,
        file: str,
        line: int | None,
        key: str,
        message: str,
        severity: Literal["error", "warning"] = "error",
    ) -> None:
        self.problems.append(Problem(file, line, key, message, severity))

    def at_step(
        self,
        flow: Flow,
        step: Step,
        suffix: str,
        message: str,
        severity: Literal["error", "warning"] = "error",
    ) -> None:
        key = f"flows.{flow.id}.steps[{step.id}]" + (f".{suffix}" if suffix else "")
        line = step.line
        doc = self.project.sources.get(flow.file)
        path = flow.step_paths.get(step.id)
        if doc is not None and path is not None and suffix:
            line = doc.line((*path, *suffix.split("."))) or line
        self.report(flow.file, line, key, message, severity)

    def flow_line(self, flow: Flow, key: str) -> int | None:
        """The line of ``flows.<id>.<key>`` in the flow's file (the flow's line if unknown)."""
        doc = self.project.sources.get(flow.file)
        return flow.line if doc is None else doc.line(("flows", flow.id, key))

    def known_action(self, name: str) -> bool:
        domain = self.project.domain
        return name in domain.responses or name in BUILTIN_ACTIONS or name in domain.actions

    def slot_refs(self, flow: Flow, step: Step, names: set[str], where: str) -> None:
        for name in sorted(names - set(self.project.domain.slots)):
            self.at_step(flow, step, where, f"condition uses unknown slot {name!r}")

    def flow(self, flow: Flow) -> None:
        if flow.file.startswith("<"):
            return
        domain, flows = self.project.domain, self.project.flows
        ids = [s.id for s in flow.steps]
        for step in flow.steps:
            if ids.count(step.id) > 1:
                self.at_step(flow, step, "id", f"duplicate step id {step.id!r}")
            for branch in step.next:
                if branch.target != END and branch.target not in ids:
                    self.at_step(flow, step, "next", f"no step with id {branch.target!r}")
                if branch.condition is not None:
                    self.slot_refs(flow, step, branch.condition.slot_names(), "next")
            self.step(flow, step)
        if flow.id.startswith("pattern_") and flow.id not in PATTERN_IDS:
            self.report(
                flow.file,
                flow.line,
                f"flows.{flow.id}",
                "unknown pattern name; it will only run when linked or called",
                "warning",
            )
        for trigger in flow.triggers:
            if (
                trigger.intent not in self.project.nlu.examples
                and trigger.intent not in domain.intents
            ):
                self.report(
                    flow.file,
                    self.flow_line(flow, "nlu_trigger"),
                    f"flows.{flow.id}.nlu_trigger",
                    f"unknown intent {trigger.intent!r}",
                )
        if flow.guard is not None:
            for name in sorted(flow.guard.slot_names() - set(domain.slots)):
                self.report(
                    flow.file,
                    self.flow_line(flow, "if"),
                    f"flows.{flow.id}.if",
                    f"unknown slot {name!r}",
                )
        for name in flow.persisted_slots:
            if name not in domain.slots:
                self.report(
                    flow.file,
                    self.flow_line(flow, "persisted_slots"),
                    f"flows.{flow.id}.persisted_slots",
                    f"unknown slot {name!r}",
                )
        for step in self.unreachable(flow):
            self.at_step(flow, step, "", "step can never run (no step leads to it)", "warning")
        del flows

    def step(self, flow: Flow, step: Step) -> None:
        domain = self.project.domain
        if isinstance(step, CollectStep):
            slot = domain.slots.get(step.slot)
            if slot is None:
                self.at_step(
                    flow, step, "collect", f"unknown slot {step.slot!r}; add it to domain.yml slots"
                )
            if step.utter not in domain.responses:
                self.at_step(flow, step, "utter", f"no response {step.utter!r} to ask for the slot")
            for rejection in step.rejections:
                if rejection.utter is not None and rejection.utter not in domain.responses:
                    self.at_step(flow, step, "rejections", f"unknown response {rejection.utter!r}")
                self.slot_refs(flow, step, rejection.condition.slot_names(), "rejections")
            if step.dtmf and step.dtmf.mapping and slot is not None and slot.values:
                for value in step.dtmf.mapping.values():
                    if value not in slot.values:
                        self.at_step(
                            flow,
                            step,
                            "dtmf.map",
                            f"{value!r} is not a value of slot {step.slot!r}",
                        )
        elif isinstance(step, ActionStep) and not self.known_action(step.action):
            hint = "a response" if step.action.startswith("utter_") else "a custom action"
            self.at_step(
                flow,
                step,
                "action",
                f"unknown action {step.action!r}; declare it as {hint} in domain.yml",
            )
        elif isinstance(step, LinkStep | CallStep) and step.flow not in self.project.flows:
            kind = "link" if isinstance(step, LinkStep) else "call"
            self.at_step(flow, step, kind, f"no flow with id {step.flow!r}")
        elif isinstance(step, SetSlotsStep):
            for name, _ in step.values:
                if name not in domain.slots:
                    self.at_step(flow, step, "set_slots", f"unknown slot {name!r}")

    def unreachable(self, flow: Flow) -> Iterator[Step]:
        if not flow.steps:
            return
        seen, todo = set(), [flow.steps[0].id]
        while todo:
            current = flow.step(todo.pop())
            if current is None or current.id in seen:
                continue
            seen.add(current.id)
            todo.extend(b.target for b in current.next if b.target != END)
        yield from (s for s in flow.steps if s.id not in seen)

    def responses(self) -> None:
        domain = self.project.domain
        doc = self.project.sources.get("domain.yml")
        if doc is None:
            return
        for name, response in domain.responses.items():
            for i, variation in enumerate(response.variations):
                path = ("responses", name, i, "text")
                for ref in placeholders(variation.text):
                    ref_name = ref.removeprefix("slots.")
                    if ref_name not in domain.slots and ref_name not in CONTEXT_NAMES:
                        self.report(
                            doc.file,
                            doc.line(path),
                            f"responses.{name}[{i}].text",
                            f"unknown slot {{{ref}}} in text",
                        )
                if variation.condition is not None:
                    for unknown in sorted(variation.condition.slot_names() - set(domain.slots)):
                        self.report(
                            doc.file,
                            doc.line((*path[:3], "condition")),
                            f"responses.{name}[{i}].condition",
                            f"unknown slot {unknown!r}",
                        )
        for name, slot in domain.slots.items():
            for i, mapping in enumerate(slot.mappings):
                if mapping.entity and mapping.entity not in domain.entities:
                    self.report(
                        doc.file,
                        doc.line(("slots", name, "mappings", i)),
                        f"slots.{name}.mappings[{i}].entity",
                        f"unknown entity {mapping.entity!r}; list it under entities",
                    )
        for intent in domain.intents:
            if intent not in self.project.nlu.examples:
                self.report(
                    doc.file,
                    doc.line(("intents",)),
                    "intents",
                    f"intent {intent!r} has no NLU examples",
                    "warning",
                )


def check(project: Project) -> list[Problem]:
    """Every cross-reference problem in ``project``."""
    checker = _Checker(project)
    for flow in project.flows.values():
        checker.flow(flow)
    checker.responses()
    return checker.problems
