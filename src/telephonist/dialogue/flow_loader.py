"""``data/flows.yml`` → flattened :class:`Flow` values, with located problems.

Steps nested inside ``next: [{if, then: [steps]}, {else: [steps]}]`` are lifted into the
flow's step list with generated ids (``3.then.0``); a branch that runs out of steps ends the
flow, as in Rasa.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telephonist.dialogue.conditions import Condition, ConditionSyntaxError, parse_condition
from telephonist.dialogue.model import (
    ALL_FLOWS,
    END,
    ActionStep,
    Branch,
    CallStep,
    CollectStep,
    DtmfSpec,
    Flow,
    LinkStep,
    NoopStep,
    SetSlotsStep,
    Step,
    Trigger,
)
from telephonist.dialogue.slot_loader import rejections
from telephonist.dialogue.source import Document, KeyPath, Problems

__all__ = ["read_flows"]

STEP_KINDS = ("collect", "action", "set_slots", "link", "call", "noop")
_COLLECT_KEYS = {
    "collect",
    "utter",
    "ask_before_filling",
    "reset_after_flow_ends",
    "rejections",
    "description",
    "silence_timeout",
    "dtmf",
    "id",
    "next",
    "force_slot_filling",
    "ask_confirm_digressions",
    "block_digressions",
    "sensitive",
}
_FLOW_KEYS = {
    "description",
    "name",
    "steps",
    "nlu_trigger",
    "if",
    "persisted_slots",
    "always_include_in_prompt",
    "run_pattern_completed",
    "ask_confirm_digressions",
    "block_digressions",
}
CHANNEL = "twilio_media_streams"


def digressions(raw: Any) -> tuple[str, ...]:
    """``true`` (every flow), ``false``/absent (none) or a list of flow ids."""
    if raw is True:
        return (ALL_FLOWS,)
    if not raw:
        return ()
    return tuple(str(f) for f in (raw if isinstance(raw, list) else [raw]))


class _FlowReader:
    def __init__(self, doc: Document, problems: Problems, flow_id: str) -> None:
        self.doc, self.problems, self.flow_id = doc, problems, flow_id
        self.steps: list[Step] = []
        self.paths: dict[str, KeyPath] = {}  # step id → key path, for precise lines

    def add(self, path: KeyPath, message: str) -> None:
        self.problems.add(self.doc, path, message)

    def condition(self, path: KeyPath, raw: Any) -> Condition | None:
        try:
            return parse_condition(raw)
        except ConditionSyntaxError as exc:
            self.add(path, f"bad condition {raw!r}: {exc}")
            return None

    def step_list(self, raw: Any, path: KeyPath, prefix: str) -> str:
        """Read a list of steps; returns the id of its first step (END when empty)."""
        if not isinstance(raw, list) or not raw:
            self.add(path, "must be a non-empty list of steps")
            return END
        ids = []
        for i, item in enumerate(raw):
            explicit = item.get("id") if isinstance(item, dict) else None
            ids.append(str(explicit) if explicit is not None else f"{prefix}{i}")
        for i, item in enumerate(raw):
            self.step(item, (*path, i), ids[i], ids[i + 1] if i + 1 < len(ids) else END)
        return ids[0]

    def branches(self, raw: Any, path: KeyPath, step_id: str, default: str) -> tuple[Branch, ...]:
        if raw is None:
            return (Branch(None, default),)
        if isinstance(raw, str):
            return (Branch(None, raw),)
        if not isinstance(raw, list):
            self.add(path, "must be a step id, END, or a list of {if, then} / {else}")
            return (Branch(None, END),)
        out: list[Branch] = []
        for i, item in enumerate(raw):
            bpath = (*path, i)
            if isinstance(item, dict) and "if" in item:
                cond = self.condition((*bpath, "if"), item["if"])
                target = self.target(item.get("then"), (*bpath, "then"), f"{step_id}.{i}.then.")
                if cond is not None:
                    out.append(Branch(cond, target))
            elif isinstance(item, dict) and "else" in item:
                out.append(
                    Branch(None, self.target(item["else"], (*bpath, "else"), f"{step_id}.else."))
                )
            else:
                self.add(bpath, "each branch needs 'if' and 'then', or 'else'")
        if not out or out[-1].condition is not None:
            out.append(Branch(None, END))
        return tuple(out)

    def target(self, raw: Any, path: KeyPath, prefix: str) -> str:
        if isinstance(raw, str):
            return raw
        return self.step_list(raw, path, prefix)

    def step(self, raw: Any, path: KeyPath, step_id: str, default_next: str) -> None:
        if not isinstance(raw, dict):
            self.add(path, "each step must be a mapping")
            return
        kinds = [k for k in STEP_KINDS if k in raw]
        if len(kinds) != 1:
            self.add(path, "each step needs exactly one of: " + ", ".join(STEP_KINDS))
            return
        kind = kinds[0]
        line = self.doc.line(path)
        self.paths.setdefault(step_id, path)
        pos = len(self.steps)  # the step goes before the steps nested in its branches
        nxt = self.branches(raw.get("next"), (*path, "next"), step_id, default_next)
        value = raw[kind]
        if kind == "collect":
            self.steps.insert(pos, self.collect(raw, path, step_id, nxt, line))
        elif kind in ("action", "link", "call"):
            if not isinstance(value, str) or not value:
                self.add((*path, kind), "must be a name")
                return
            made: Step
            if kind == "action":
                made = ActionStep(step_id, nxt, line, value)
            elif kind == "link":
                made = LinkStep(step_id, nxt, line, value)
            else:
                if "mcp_server" in raw:
                    self.add((*path, "mcp_server"), "calling an MCP tool is not supported")
                made = CallStep(step_id, nxt, line, value)
            self.steps.insert(pos, made)
        elif kind == "set_slots":
            self.steps.insert(pos, SetSlotsStep(step_id, nxt, line, self.slot_values(value, path)))
        else:
            self.steps.insert(pos, NoopStep(step_id, nxt, line))

    def slot_values(self, raw: Any, path: KeyPath) -> tuple[tuple[str, Any], ...]:
        items = raw if isinstance(raw, list) else [raw]
        values: list[tuple[str, Any]] = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not item:
                self.add((*path, "set_slots", i), "must be '- slot_name: value'")
                continue
            values.extend((str(k), v) for k, v in item.items())
        return tuple(values)

    def collect(
        self,
        raw: Mapping[str, Any],
        path: KeyPath,
        step_id: str,
        nxt: tuple[Branch, ...],
        line: int | None,
    ) -> CollectStep:
        slot = str(raw["collect"])
        for key in raw:
            if key not in _COLLECT_KEYS:
                self.add((*path, key), f"collect option {key!r} is not supported")
        return CollectStep(
            step_id,
            nxt,
            line,
            slot,
            utter=str(raw.get("utter") or f"utter_ask_{slot}"),
            ask_before_filling=bool(raw.get("ask_before_filling", False)),
            reset_after_flow_ends=bool(raw.get("reset_after_flow_ends", True)),
            rejections=rejections(self.doc, self.problems, (*path, "rejections"), dict(raw)),
            silence_timeout=self.silence_timeout(raw.get("silence_timeout"), path),
            dtmf=self.dtmf(raw.get("dtmf"), (*path, "dtmf")),
            description=str(raw.get("description") or ""),
            force_slot_filling=bool(raw.get("force_slot_filling", False)),
            ask_confirm_digressions=digressions(raw.get("ask_confirm_digressions")),
            block_digressions=digressions(raw.get("block_digressions")),
            sensitive=self.flag(raw, "sensitive", path),
        )

    def flag(self, raw: Mapping[str, Any], key: str, path: KeyPath) -> bool:
        value = raw.get(key, False)
        if not isinstance(value, bool):
            self.add((*path, key), "must be true or false")
            return False
        return value

    def silence_timeout(self, raw: Any, path: KeyPath) -> float | None:
        if isinstance(raw, dict):
            raw = raw.get(CHANNEL)
        if raw is None:
            return None
        if not isinstance(raw, int | float) or isinstance(raw, bool) or raw < 0:
            self.add(
                (*path, "silence_timeout"), "must be a number of seconds (or a map by channel)"
            )
            return None
        return float(raw) or None  # 0 means "not set", as in Rasa

    def dtmf(self, raw: Any, path: KeyPath) -> DtmfSpec | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            self.add(path, "must be a mapping with length or finish_on_key")
            return None
        length, key = raw.get("length"), raw.get("finish_on_key")
        if length is not None and key is not None:
            self.add(path, "set only one of length and finish_on_key")
        if length is not None and (not isinstance(length, int) or length < 1):
            self.add((*path, "length"), "must be a positive whole number")
            length = None
        if key is not None and str(key) not in tuple("0123456789#*"):
            self.add((*path, "finish_on_key"), "must be one keypad key such as '#'")
            key = None
        mapping = raw.get("map") or {}
        if not isinstance(mapping, dict):
            self.add((*path, "map"), "must map keys to slot values")
            mapping = {}
        return DtmfSpec(
            length,
            None if key is None else str(key),
            {str(k): str(v) for k, v in mapping.items()},
            bool(raw.get("allow_audio_input", True)),
        )


def _triggers(reader: _FlowReader, raw: Any, path: KeyPath) -> tuple[Trigger, ...]:
    if raw is None:
        return ()
    out = []
    for i, item in enumerate(raw if isinstance(raw, list) else [raw]):
        intent = item.get("intent") if isinstance(item, dict) else None
        if isinstance(intent, str):
            out.append(Trigger(intent))
        elif isinstance(intent, dict) and isinstance(intent.get("name"), str):
            threshold = intent.get("confidence_threshold")
            out.append(Trigger(intent["name"], None if threshold is None else float(threshold)))
        else:
            reader.add(
                (*path, i), "expected {intent: NAME} or {intent: {name, confidence_threshold}}"
            )
    return tuple(out)


def read_flows(doc: Document | None, problems: Problems) -> dict[str, Flow]:
    """All flows of one flows file, keyed by id."""
    if doc is None:
        return {}
    data = doc.data if isinstance(doc.data, dict) else {}
    raw_flows = data.get("flows")
    if raw_flows is None:
        return {}
    if not isinstance(raw_flows, dict):
        if doc.data is not None:
            problems.add(doc, ("flows",), "must be a mapping of flow id to flow")
        return {}
    flows: dict[str, Flow] = {}
    for flow_id, raw in raw_flows.items():
        path: KeyPath = ("flows", str(flow_id))
        reader = _FlowReader(doc, problems, str(flow_id))
        if not isinstance(raw, dict):
            reader.add(path, "must be a mapping with steps")
            continue
        for key in raw:
            if key not in _FLOW_KEYS:
                problems.add(doc, (*path, key), f"flow key {key!r} is not supported", "warning")
        reader.step_list(raw.get("steps"), (*path, "steps"), "")
        guard = raw.get("if")
        persisted = raw.get("persisted_slots") or []
        flows[str(flow_id)] = Flow(
            id=str(flow_id),
            description=str(raw.get("description") or ""),
            steps=tuple(reader.steps),
            step_paths=reader.paths,
            triggers=_triggers(reader, raw.get("nlu_trigger"), (*path, "nlu_trigger")),
            guard=None if guard is None else reader.condition((*path, "if"), guard),
            persisted_slots=tuple(str(s) for s in persisted),
            file=doc.file,
            line=doc.line(path),
            name=str(raw.get("name") or ""),
            always_include_in_prompt=bool(raw.get("always_include_in_prompt", False)),
            run_pattern_completed=bool(raw.get("run_pattern_completed", True)),
            ask_confirm_digressions=digressions(raw.get("ask_confirm_digressions")),
            block_digressions=digressions(raw.get("block_digressions")),
        )
    return flows
