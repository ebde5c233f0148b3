"""Cross-file checks of a project: every name a flow or response uses must exist, every step
and every flow must be able to run. Used by ``telephonist check``, by ``run`` before it opens
its port, and by :func:`load_project`. Errors stop a project from loading; warnings do not.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

from telephonist.dialogue.defaults import DEFAULT_INTENTS, RASA_ACTIONS
from telephonist.dialogue.model import (
    ALL_FLOWS,
    END,
    ActionStep,
    CallStep,
    CollectStep,
    Flow,
    LinkStep,
    SetSlotsStep,
    Step,
)
from telephonist.dialogue.patterns import INTERNAL_PATTERNS, PATTERN_IDS
from telephonist.dialogue.source import Problem

if TYPE_CHECKING:
    from telephonist.dialogue.project import Project

__all__ = ["Checker", "check"]

Severity = Literal["error", "warning"]


class Checker:
    """Collects problems about one project."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.problems: list[Problem] = []

    def report(
        self, file: str, line: int | None, key: str, message: str, severity: Severity = "error"
    ) -> None:
        """Record one problem."""
        self.problems.append(Problem(file, line, key, message, severity))

    def at_step(
        self, flow: Flow, step: Step, suffix: str, message: str, severity: Severity = "error"
    ) -> None:
        """Record a problem located at a step (or at one of its keys: ``suffix``)."""
        key = f"flows.{flow.id}.steps[{step.id}]" + (f".{suffix}" if suffix else "")
        line = step.line
        doc = self.project.sources.get(flow.file)
        path = flow.step_paths.get(step.id)
        if doc is not None and path is not None and suffix:
            line = doc.line((*path, *suffix.split("."))) or line
        self.report(flow.file, line, key, message, severity)

    def at_flow(self, flow: Flow, key: str, message: str, severity: Severity = "error") -> None:
        """Record a problem at ``flows.<id>.<key>`` (the flow itself when ``key`` is empty)."""
        doc = self.project.sources.get(flow.file)
        path = ("flows", flow.id, key) if key else ("flows", flow.id)
        line = flow.line if doc is None else doc.line(path)
        self.report(flow.file, line, ".".join(p for p in path if p), message, severity)

    def known_action(self, name: str) -> bool:
        """A response, a built-in action or a custom action listed in the domain."""
        domain = self.project.domain
        return name in domain.responses or name in RASA_ACTIONS or name in domain.actions

    def known_intent(self, name: str) -> bool:
        """An intent with NLU examples, listed in the domain, or one of Rasa's defaults."""
        domain, nlu = self.project.domain, self.project.nlu
        return name in nlu.examples or name in domain.intents or name in DEFAULT_INTENTS

    def slot_refs(self, flow: Flow, step: Step, names: set[str], where: str) -> None:
        """Unknown slots read by a step's condition."""
        for name in sorted(names - set(self.project.domain.slots)):
            self.at_step(flow, step, where, f"condition uses unknown slot {name!r}")

    # -- flows -------------------------------------------------------------------------------
    def flow(self, flow: Flow) -> None:
        """Every check of one flow the project defines."""
        domain = self.project.domain
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
        if flow.id in INTERNAL_PATTERNS:
            self.at_flow(
                flow,
                "",
                "overriding this pattern is not supported: collect steps ask, validate and "
                "re-ask by themselves in the built-in engine (this flow never runs)",
                "warning",
            )
        elif flow.id.startswith("pattern_") and flow.id not in PATTERN_IDS:
            self.at_flow(
                flow, "", "unknown pattern name; it will only run when linked or called", "warning"
            )
        for trigger in flow.triggers:
            if not self.known_intent(trigger.intent):
                self.at_flow(flow, "nlu_trigger", f"unknown intent {trigger.intent!r}")
        if flow.guard is not None:
            for name in sorted(flow.guard.slot_names() - set(domain.slots)):
                self.at_flow(flow, "if", f"unknown slot {name!r}")
        for name in flow.persisted_slots:
            if name not in domain.slots:
                self.at_flow(flow, "persisted_slots", f"unknown slot {name!r}")
        self.digressions(flow, None, (*flow.ask_confirm_digressions, *flow.block_digressions))
        for step in self.unreachable(flow):
            self.at_step(flow, step, "", "step can never run (no step leads to it)", "warning")

    def digressions(self, flow: Flow, step: CollectStep | None, targets: tuple[str, ...]) -> None:
        """Flows named by ``ask_confirm_digressions`` / ``block_digressions`` must exist."""
        for target in targets:
            if target != ALL_FLOWS and target not in self.project.flows:
                message = f"digressions name unknown flow {target!r}"
                if step is None:
                    self.at_flow(flow, "", message)
                else:
                    self.at_step(flow, step, "", message)

    def step(self, flow: Flow, step: Step) -> None:
        """The names one step uses."""
        domain = self.project.domain
        if isinstance(step, CollectStep):
            self.collect(flow, step)
        elif isinstance(step, ActionStep) and not self.known_action(step.action):
            hint = "a response" if step.action.startswith("utter_") else "a custom action"
            self.at_step(
                flow,
                step,
                "action",
                f"unknown action {step.action!r}; declare it as {hint} in the domain",
            )
        elif isinstance(step, LinkStep | CallStep) and step.flow not in self.project.flows:
            kind = "link" if isinstance(step, LinkStep) else "call"
            self.at_step(flow, step, kind, f"no flow with id {step.flow!r}")
        elif isinstance(step, SetSlotsStep):
            for name, _ in step.values:
                if name not in domain.slots:
                    self.at_step(flow, step, "set_slots", f"unknown slot {name!r}")

    def collect(self, flow: Flow, step: CollectStep) -> None:
        """A collect step's slot, question, rejections, keypad map and digressions."""
        domain = self.project.domain
        slot = domain.slots.get(step.slot)
        if slot is None:
            self.at_step(flow, step, "collect", f"unknown slot {step.slot!r}; add it to the domain")
        has_response = step.utter in domain.responses
        has_action = step.ask_action in domain.actions
        if not has_response and not has_action:
            self.at_step(
                flow,
                step,
                "utter",
                f"no response {step.utter!r} (or custom action {step.ask_action!r}) to ask "
                "for the slot",
            )
        elif has_action and step.utter == f"utter_ask_{step.slot}" and has_response:
            self.at_step(
                flow,
                step,
                "collect",
                f"both the response {step.utter!r} and the custom action {step.ask_action!r} "
                "ask for this slot; keep one",
            )
        for rejection in step.rejections:
            if rejection.utter is not None and rejection.utter not in domain.responses:
                self.at_step(flow, step, "rejections", f"unknown response {rejection.utter!r}")
            self.slot_refs(flow, step, rejection.condition.slot_names(), "rejections")
        if step.dtmf and step.dtmf.mapping and slot is not None and slot.values:
            for value in step.dtmf.mapping.values():
                if value not in slot.values:
                    self.at_step(
                        flow, step, "dtmf.map", f"{value!r} is not a value of slot {step.slot!r}"
                    )
        self.digressions(flow, step, (*step.ask_confirm_digressions, *step.block_digressions))

    def unreachable(self, flow: Flow) -> Iterator[Step]:
        """Steps no path from the first step leads to."""
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

    def startable(self) -> None:
        """User flows that nothing can ever start (no trigger, no link or call, no LLM)."""
        reached = {
            s.flow
            for f in self.project.flows.values()
            for s in f.steps
            if isinstance(s, LinkStep | CallStep)
        }
        generator = self.project.config.command_generator
        for flow_id in self.project.user_flow_ids:
            flow = self.project.flows[flow_id]
            if flow.triggers or flow_id in reached:
                continue
            if flow.guard is not None and flow.guard.text.strip().lower() == "false":
                reason = "its `if` is always false and no flow links to or calls it"
            elif self.project.llm is not None:
                continue  # the command generator can start it
            elif generator is not None:
                reason = (
                    "it has no nlu_trigger, no flow links to or calls it, and config.yml's "
                    f"{generator.get('name')} has no usable model (see the errors above)"
                )
            else:
                reason = (
                    "it has no nlu_trigger, no flow links to or calls it, and config.yml "
                    "configures no LLM command generator"
                )
            self.at_flow(flow, "", f"flow can never start: {reason}", "warning")


def check(project: Project) -> list[Problem]:
    """Every cross-reference problem in ``project``."""
    from telephonist.dialogue.domain_checks import check_domain

    checker = Checker(project)
    for flow in project.flows.values():
        if not flow.file.startswith("<"):
            checker.flow(flow)
    checker.startable()
    check_domain(checker)
    return checker.problems
