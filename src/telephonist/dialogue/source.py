"""YAML documents that remember where each value came from, and the problems found in them.

Every error a person sees about a project file names the file, the line (from the YAML node
marks) and the key path, e.g. ``domain.yml:12: responses.utter_x[0].text: must be a string``.
Files are read by the shared bounded loader (`telephonist.config.yamlfile`); in the
configuration files (config.yml, endpoints.yml) ``${VAR}`` reads the environment, while the
domain and the data are taken literally. A problem never repeats a value found under a
secret key or taken from the environment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from telephonist.config.redaction import scrub
from telephonist.config.yamlfile import BoundedLoader, describe_yaml_error, expand

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
        """Record a problem at ``path`` in ``doc`` (a secret found there is not repeated)."""
        message = scrub(message, _value_at(doc.data, path), path)
        self.items.append(Problem(doc.file, doc.line(path), format_key(path), message, severity))

    @property
    def errors(self) -> list[Problem]:
        """Only the problems that stop a project from loading."""
        return [p for p in self.items if p.severity == "error"]


def _value_at(data: Any, path: KeyPath) -> Any:
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


class _Reader:
    """Turns a composed node tree into plain data, noting each key path's line and, given an
    ``environ``, expanding ``${VAR}`` in strings (an unset variable is a problem there)."""

    def __init__(self, loader: BoundedLoader, file: str, environ: Mapping[str, str] | None) -> None:
        self.loader = loader
        self.file = file
        self.environ = environ
        self.lines: dict[KeyPath, int] = {}
        self.missing: list[Problem] = []

    def convert(self, node: yaml.Node, path: KeyPath) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                child = (*path, key if isinstance(key, str | int) else str(key))
                self.lines[child] = key_node.start_mark.line + 1
                result[key] = self.convert(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        value = self.loader.construct_object(node, deep=True)
        if self.environ is not None and isinstance(value, str) and "${" in value:
            value = expand(value, self.environ, self._unset(path, node.start_mark.line + 1))
        return value

    def _unset(self, path: KeyPath, line: int) -> Callable[[str], str]:
        def record(name: str) -> str:
            message = f"environment variable {name} is not set"
            self.missing.append(Problem(self.file, line, format_key(path), message))
            return ""

        return record


def parse_document(
    text: str, file: str, problems: Problems, environ: Mapping[str, str] | None = None
) -> Document | None:
    """Parse YAML ``text``; a syntax error becomes a problem naming ``file`` and the line.
    With ``environ``, ``${VAR}`` / ``${VAR:-default}`` in strings read it."""
    loader = BoundedLoader(text)
    reader = _Reader(loader, file, environ)
    try:
        node = loader.get_single_node()
        data = None if node is None else reader.convert(node, ())
    except yaml.YAMLError as exc:
        line, message = describe_yaml_error(exc)
        problems.items.append(Problem(file, line, "", message))
        return None
    finally:
        loader.dispose()
    problems.items.extend(reader.missing)
    return Document(file, data, reader.lines)


def load_document(
    path: Path, file: str, problems: Problems, environ: Mapping[str, str] | None = None
) -> Document | None:
    """Read and parse one project file; ``file`` is the name shown in messages (``environ``:
    as in `parse_document`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.items.append(Problem(file, None, "", f"cannot read: {exc.strerror}"))
        return None
    return parse_document(text, file, problems, environ)
