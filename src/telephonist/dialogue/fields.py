"""Typed reads of YAML values that record a located problem instead of raising."""

from __future__ import annotations

from typing import Any

from telephonist.dialogue.source import Document, KeyPath, Problems

__all__ = ["as_mapping", "names", "number", "one_or_many"]


def as_mapping(doc: Document, problems: Problems, path: KeyPath, value: Any) -> dict[str, Any]:
    """``value`` as a mapping (None → empty); anything else is a problem."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(doc, path, f"must be a mapping, got {type(value).__name__}")
        return {}
    return value


def names(doc: Document, problems: Problems, path: KeyPath, value: Any) -> tuple[str, ...]:
    """A list of names; items may also be single-key mappings (``- greet: {...}``)."""
    if value is None:
        return ()
    if isinstance(value, dict):
        return tuple(str(k) for k in value)
    if not isinstance(value, list):
        problems.add(doc, path, "must be a list of names")
        return ()
    found: list[str] = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict) and len(item) == 1:
            found.append(str(next(iter(item))))
        else:
            problems.add(doc, (*path, i), "must be a name")
    return tuple(found)


def one_or_many(value: Any) -> tuple[str, ...]:
    """``x`` or ``[x, y]`` as a tuple of strings (None → empty)."""
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return (str(value),)


def number(
    doc: Document,
    problems: Problems,
    path: KeyPath,
    value: Any,
    default: float,
    low: float = 0.0,
    high: float = 1.0,
) -> float:
    """A number within ``[low, high]`` (None → default)."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        problems.add(doc, path, f"must be a number between {low:g} and {high:g}")
        return default
    return float(value)
