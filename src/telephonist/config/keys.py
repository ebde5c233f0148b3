"""Refusing keys a block does not know, so a typo never silently disables a feature."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from telephonist.errors import ConfigError

__all__ = ["reject_unknown"]


def reject_unknown(
    block: Mapping[str, Any], allowed: Collection[str], file: str, prefix: str
) -> None:
    """Raise `ConfigError` naming the first key of ``block`` not in ``allowed``."""
    for key in block:
        if key not in allowed:
            raise ConfigError(
                f"unknown key (allowed: {', '.join(sorted(allowed))})",
                file=file,
                key=f"{prefix}.{key}",
            )
