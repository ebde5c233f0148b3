"""``nlu:`` sections → :class:`NluData`: examples with entity annotations, synonyms, regexes
and lookup tables.

Annotations: ``[Berlin](city)``, ``[Berlin](city:BER)`` and ``[Berlin]{"entity": "city",
"value": "BER"}``. An annotated value different from its text also becomes a synonym.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from telephonist.dialogue.model import Example, NluData
from telephonist.dialogue.source import Document, KeyPath, Problems

__all__ = ["merge_nlu", "parse_annotated", "read_nlu"]

_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]*\}))")


def parse_annotated(text: str) -> tuple[Example, list[str]]:
    """Strip annotations from ``text``; returns the example and any annotation errors."""
    plain, entities, errors, pos = "", [], [], 0
    for match in _ANNOTATION.finditer(text):
        plain += text[pos : match.start()]
        start = len(plain)
        plain += match.group("text")
        if match.group("short"):
            entity, _, value = match.group("short").partition(":")
            value = value or match.group("text")
        else:
            try:
                spec = json.loads(match.group("json"))
                entity, value = spec["entity"], str(spec.get("value", match.group("text")))
            except (ValueError, KeyError, TypeError):
                errors.append(f"bad entity annotation {match.group(0)!r}")
                entity, value = "", ""
        if entity:
            entities.append((start, len(plain), entity.strip(), value.strip()))
        pos = match.end()
    plain += text[pos:]
    return Example(plain.strip(), tuple(entities)), errors


def _example_lines(doc: Document, problems: Problems, path: KeyPath, raw: Any) -> list[str]:
    if isinstance(raw, str):
        lines = [ln.strip() for ln in raw.splitlines() if ln.strip()]
        out = []
        for line in lines:
            if not line.startswith("- "):
                problems.add(doc, path, f"each example line must start with '- ': {line!r}")
                continue
            out.append(line[2:].strip())
        return out
    if isinstance(raw, list):
        return [str(item) for item in raw]
    problems.add(doc, path, "examples must be a block of '- example' lines")
    return []


def read_nlu(doc: Document, problems: Problems) -> NluData:
    """The ``nlu:`` section of one data file (absent section → empty data)."""
    data = doc.data if isinstance(doc.data, dict) else {}
    items = data.get("nlu")
    if items is None:
        return NluData()
    if not isinstance(items, list):
        problems.add(doc, ("nlu",), "must be a list of intent / synonym / regex / lookup items")
        return NluData()
    examples: dict[str, list[Example]] = {}
    synonyms: dict[str, str] = {}
    regexes: list[tuple[str, str]] = []
    lookups: dict[str, tuple[str, ...]] = {}
    for i, item in enumerate(items):
        path: KeyPath = ("nlu", i)
        kind = next(
            (
                k
                for k in ("intent", "synonym", "regex", "lookup")
                if isinstance(item, dict) and k in item
            ),
            None,
        )
        if kind is None or not isinstance(item[kind], str):
            problems.add(doc, path, "expected one of intent:, synonym:, regex:, lookup: NAME")
            continue
        name = item[kind]
        lines = _example_lines(doc, problems, (*path, "examples"), item.get("examples"))
        if kind == "intent":
            for line in lines:
                example, errors = parse_annotated(line)
                for error in errors:
                    problems.add(doc, (*path, "examples"), error)
                examples.setdefault(name, []).append(example)
        elif kind == "synonym":
            synonyms.update({line.lower(): name for line in lines})
        elif kind == "regex":
            for line in lines:
                try:
                    re.compile(line)
                except re.error as exc:
                    problems.add(doc, (*path, "examples"), f"bad regex {line!r}: {exc}")
                    continue
                regexes.append((name, line))
        else:
            lookups[name] = (*lookups.get(name, ()), *lines)
    for intent_examples in examples.values():
        for example in intent_examples:
            for start, end, _, value in example.entities:
                if example.text[start:end].lower() != value.lower():
                    synonyms.setdefault(example.text[start:end].lower(), value)
    return NluData({k: tuple(v) for k, v in examples.items()}, synonyms, tuple(regexes), lookups)


def merge_nlu(parts: Iterable[NluData]) -> NluData:
    """Combine the NLU sections of several data files."""
    examples: dict[str, tuple[Example, ...]] = {}
    synonyms: dict[str, str] = {}
    regexes: list[tuple[str, str]] = []
    lookups: dict[str, tuple[str, ...]] = {}
    for part in parts:
        for name, items in part.examples.items():
            examples[name] = (*examples.get(name, ()), *items)
        synonyms.update(part.synonyms)
        regexes.extend(part.regexes)
        for name, values in part.lookups.items():
            lookups[name] = (*lookups.get(name, ()), *values)
    return NluData(examples, synonyms, tuple(regexes), lookups)
