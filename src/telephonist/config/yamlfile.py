"""Read a YAML config file with ``${VAR}`` / ``${VAR:-default}`` interpolation from the
environment; every failure is a `ConfigError` naming the file."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from telephonist.errors import ConfigError

__all__ = ["interpolate", "load_yaml"]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def interpolate(value: Any, environ: Mapping[str, str], *, file: str, key: str = "") -> Any:
    """Replace ``${VAR}`` in every string of a parsed YAML tree."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in environ:
                return environ[name]
            if default is not None:
                return default
            raise ConfigError(f"environment variable {name} is not set", file=file, key=key)

        return _VAR.sub(substitute, value)
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
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError(
            f"{where}invalid YAML ({getattr(exc, 'problem', exc)})", file=str(path)
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping", file=str(path))
    return dict(interpolate(data, environ, file=str(path)))
