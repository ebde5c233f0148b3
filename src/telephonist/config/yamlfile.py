"""The one way Telephonist reads YAML: a bounded safe loader, plus ``${VAR}`` /
``${VAR:-default}`` interpolation from the environment.

`BoundedLoader` is PyYAML's ``SafeLoader`` with limits, for every file a project has
(credentials.yml, endpoints.yml, config.yml, the domain, the data): aliases may add at most
`MAX_ALIAS_NODES` values to a document (a 470-byte "billion laughs" would otherwise expand
to gigabytes when the document is walked), an alias may not refer to itself, and nesting
stops at `MAX_DEPTH` (PyYAML composes recursively). Interpolated text is an `EnvText`, so
error messages never print it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError

from telephonist.config.redaction import EnvText
from telephonist.errors import ConfigError

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "BoundedLoader",
    "YAMLLimitError",
    "describe_yaml_error",
    "expand",
    "interpolate",
    "load_yaml",
    "parse_yaml",
]

MAX_ALIAS_NODES = 10_000
"""Values that aliases may add to one document, over all its aliases together. Real
projects reuse a few blocks; an alias bomb asks for billions."""
MAX_DEPTH = 100
"""Nesting levels allowed in one document."""

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class YAMLLimitError(ComposerError):
    """A document exceeds a `BoundedLoader` limit."""


class BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` that counts what aliases expand to and refuses past the budget."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._weights: dict[yaml.Node, int] = {}
        self._alias_nodes = 0
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Compose as PyYAML does, weighing every node (itself plus everything below it)."""
        mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
            weight = self._weights.get(node) if node is not None else None
            if weight is None:  # its anchor is still being composed: a recursive alias
                raise YAMLLimitError(None, None, "an alias refers to itself", mark)
            self._alias_nodes += weight
            if self._alias_nodes > MAX_ALIAS_NODES:
                message = f"aliases expand to more than {MAX_ALIAS_NODES:,} values (an alias bomb?)"
                raise YAMLLimitError(None, None, message, mark)
            return node
        if self._depth >= MAX_DEPTH:
            raise YAMLLimitError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is not None:
            self._weights[node] = 1 + sum(self._weights[child] for child in _children(node))
        return node


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def describe_yaml_error(exc: yaml.YAMLError) -> tuple[int | None, str]:
    """The 1-based line of a YAML error (when known) and what to tell the user."""
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    if isinstance(exc, YAMLLimitError):
        return line, f"refused: {exc.problem}"
    return line, f"invalid YAML ({getattr(exc, 'problem', None) or exc})"


def parse_yaml(text: str) -> Any:
    """The single document in ``text`` (``None`` if empty), read by `BoundedLoader`."""
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def expand(text: str, environ: Mapping[str, str], missing: Callable[[str], str]) -> str:
    """``text`` with each ``${VAR}`` / ``${VAR:-default}`` replaced; an `EnvText` when
    anything was. ``missing(name)`` supplies (or refuses) an unset variable without default."""

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        return default if default is not None else missing(name)

    result, count = _VAR.subn(substitute, text)
    return EnvText(result) if count else text


def interpolate(value: Any, environ: Mapping[str, str], *, file: str, key: str = "") -> Any:
    """Replace ``${VAR}`` in every string of a parsed YAML tree."""
    if isinstance(value, str):

        def refuse(name: str) -> str:
            raise ConfigError(f"environment variable {name} is not set", file=file, key=key)

        return expand(value, environ, refuse)
    if isinstance(value, dict):
        return {
            k: interpolate(v, environ, file=file, key=f"{key}.{k}" if key else str(k))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [interpolate(v, environ, file=file, key=f"{key}[{i}]") for i, v in enumerate(value)]
    return value


def load_yaml(path: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    """The file's top-level mapping (empty if the file is empty)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from None
    try:
        data = parse_yaml(text)
    except yaml.YAMLError as exc:
        line, message = describe_yaml_error(exc)
        raise ConfigError(f"line {line}: {message}" if line else message, file=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping", file=str(path))
    return dict(interpolate(data, environ, file=str(path)))
