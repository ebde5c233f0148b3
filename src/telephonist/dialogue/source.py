"""YAML documents that remember where each value came from, and the problems found in them.

Every error a person sees about a project file names the file, the line (from the YAML node
marks) and the key path, e.g. ``domain.yml:12: responses.utter_x[0].text: must be a string``.
Files are read by the shared bounded loader (`telephonist.config.yamlfile`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from telephonist.config.yamlfile import BoundedLoader, describe_yaml_error

__all__ = [
    "Document",
    "KeyPath",
    "Problem",
    "Problems",
    "format_key",
    "load_document",
    "parse_document",
]

KeyPath = tuple[str | int, ...]


def format_key(path: KeyPath) -> str:
    """``("flows", "book", "steps", 2)`` → ``flows.book.steps[2]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a project, located as precisely as the YAML allows."""

    file: str
    line: int | None
    key: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Document:
    """Plain Python data from one YAML file plus the line of every key path in it."""

    file: str
    data: Any
    lines: Mapping[KeyPath, int] = field(default_factory=dict)

    def line(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return None


class Problems:
    """Collects problems while a project is read, instead of stopping at the first one."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(
        self,
        doc: Document,
        path: KeyPath,
        message: str,
        severity: Literal["error", "warning"] = "error",
    ) -> None:
        """Record a problem at ``path`` in ``doc``."""
        self.items.append(Problem(doc.file, doc.line(path), format_key(path), message, severity))

    @property
    def errors(self) -> list[Problem]:
        """Only the problems that stop a project from loading."""
        return [p for p in self.items if p.severity == "error"]


def _convert(
    node: yaml.Node, loader: BoundedLoader, path: KeyPath, lines: dict[KeyPath, int]
) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            child = (*path, key if isinstance(key, str | int) else str(key))
            lines[child] = key_node.start_mark.line + 1
            result[key] = _convert(value_node, loader, child, lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, loader, (*path, i), lines) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def parse_document(text: str, file: str, problems: Problems) -> Document | None:
    """Parse YAML ``text``; a syntax error becomes a problem naming ``file`` and the line."""
    loader = BoundedLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        data = None if node is None else _convert(node, loader, (), lines)
    except yaml.YAMLError as exc:
        line, message = describe_yaml_error(exc)
        problems.items.append(Problem(file, line, "", message))
        return None
    finally:
        loader.dispose()
    return Document(file, data, lines)


def load_document(path: Path, file: str, problems: Problems) -> Document | None:
    """Read and parse one project file; ``file`` is the name shown in messages."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.items.append(Problem(file, None, "", f"cannot read: {exc.strerror}"))
        return None
    return parse_document(text, file, problems)
