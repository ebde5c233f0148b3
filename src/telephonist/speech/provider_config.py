"""Validation helpers for the built-in providers' ``asr:`` / ``tts:`` blocks.

Every check runs at start-up and raises `ConfigError` through ``context.error`` naming the key.
API keys are read from the environment by *name*; their values never enter a message.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from telephonist.errors import ConfigError
from telephonist.speech.endpoint import EndpointError, Kind, normalize_endpoint
from telephonist.speech.registry import ProviderContext

__all__ = ["BlockReader", "LanguageMap"]


@dataclass(frozen=True)
class LanguageMap:
    """Per-assistant-language engine settings (``language_map``), over the block's defaults."""

    defaults: Mapping[str, str]
    entries: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def lookup(self, language: str) -> dict[str, str] | None:
        """Settings for ``language`` (exact, then its base: ``en`` for ``en-US``), else None."""
        if not self.entries:
            return dict(self.defaults)
        for candidate in (language, language.split("-")[0]):
            if candidate in self.entries:
                return {**self.defaults, **self.entries[candidate]}
        return None


class BlockReader:
    """Reads one provider block, key by key, and rejects whatever it did not read."""

    def __init__(
        self, config: Mapping[str, Any], context: ProviderContext, allowed: Collection[str]
    ) -> None:
        self.config = config
        self.context = context
        unknown = sorted(str(key) for key in config if key not in allowed)
        if unknown:
            raise context.error(
                f"unknown key {unknown[0]!r}; allowed keys are {', '.join(sorted(allowed))}",
                key=unknown[0],
            )

    def error(self, message: str, key: str | None = None) -> ConfigError:
        """A ConfigError located at this block (or one of its keys)."""
        return self.context.error(message, key=key)

    def string(self, key: str, default: str | None = None) -> str | None:
        """A non-empty string, or ``default`` when the key is absent or null."""
        value = self.config.get(key)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.error("must be a non-empty string", key=key)
        return value.strip()

    def number(self, key: str, default: float, *, minimum: float = 0.0) -> float:
        """A number ≥ ``minimum``."""
        value = self.config.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise self.error(f"must be a number >= {minimum:g}", key=key)
        return float(value)

    def integer(self, key: str, default: int, *, minimum: int = 0) -> int:
        """An integer ≥ ``minimum``."""
        value = self.config.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(f"must be an integer >= {minimum}", key=key)
        return value

    def boolean(self, key: str, default: bool) -> bool:
        """true or false."""
        value = self.config.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error("must be true or false", key=key)
        return value

    def endpoint(
        self, *, kind: Kind, default_host: str, default_path: str, key: str = "endpoint"
    ) -> str:
        """The provider URL: a bare host or a full URL (see `telephonist.speech.endpoint`)."""
        try:
            return normalize_endpoint(
                self.string(key), kind=kind, default_host=default_host, default_path=default_path
            )
        except EndpointError as exc:
            raise self.error(str(exc), key=key) from exc

    def api_key(self, variable: str) -> str:
        """The secret in environment variable ``variable``; the error names only the variable."""
        value = self.context.environ.get(variable, "")
        if not value.strip():
            raise self.error(f"environment variable {variable} is not set (it holds the API key)")
        return value.strip()

    def language_map(
        self, defaults: Mapping[str, str], *, required: str, fields: Collection[str]
    ) -> LanguageMap:
        """``language_map`` plus the deprecated top-level ``fields`` (never both, as in Rasa).

        Every entry must set ``required`` and may set only ``fields``. The assistant's own
        language (``context.language``) must be mapped when a map is given.
        """
        top = {name: self.string(name) for name in fields if name in self.config}
        raw = self.config.get("language_map")
        if raw is None:
            return LanguageMap({**defaults, **{k: v for k, v in top.items() if v}})
        if top:
            name = sorted(top)[0]
            raise self.error(f"set {name!r} inside language_map, not next to it", key=name)
        if not isinstance(raw, Mapping) or not raw:
            raise self.error(
                "must map assistant language codes to engine settings", key="language_map"
            )
        entries: dict[str, dict[str, str]] = {}
        for language, entry in raw.items():
            where = f"language_map.{language}"
            if not isinstance(entry, Mapping):
                raise self.error("must be a mapping", key=where)
            for name, value in entry.items():
                if name not in fields:
                    raise self.error(
                        f"unknown key {name!r}; allowed keys are {', '.join(sorted(fields))}",
                        key=f"{where}.{name}",
                    )
                if not isinstance(value, str) or not value.strip():
                    raise self.error("must be a non-empty string", key=f"{where}.{name}")
            if required not in entry:
                raise self.error(f"{required!r} is required", key=f"{where}.{required}")
            entries[str(language)] = {str(k): str(v).strip() for k, v in entry.items()}
        mapping = LanguageMap(defaults, entries)
        if mapping.lookup(self.context.language) is None:
            raise self.error(
                f"the assistant language {self.context.language!r} is not mapped",
                key="language_map",
            )
        return mapping
