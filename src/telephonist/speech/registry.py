"""Build ASR/TTS providers from a `credentials.yml` ``asr:`` / ``tts:`` block.

``name`` is a built-in (looked up in the tables below, imported lazily so an unused
provider's dependencies need not be installed) or a dotted path ``package.module.Class`` to a
user's own class with a ``from_config(config, context)`` classmethod; what it builds is put
behind the full seam by `telephonist.speech.user_providers`. Every built-in
provider module exposes ``from_config(config, context)`` with the same contract: validate
every key now (unknown keys and missing API keys are `ConfigError`s naming the key), so a
bad block fails at start-up, never on the first call.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from telephonist.config.redaction import from_environment
from telephonist.errors import ConfigError
from telephonist.speech.asr.base import ASRProvider
from telephonist.speech.tts.base import TTSEngine
from telephonist.speech.user_providers import UserASR, UserTTS

__all__ = ["ASR_PROVIDERS", "TTS_PROVIDERS", "ProviderContext", "build_asr", "build_tts"]

ASR_PROVIDERS: dict[str, str] = {
    "local": "telephonist.speech.asr.local_config",
    "deepgram": "telephonist.speech.asr.deepgram",
    "azure": "telephonist.speech.asr.azure",
}
TTS_PROVIDERS: dict[str, str] = {
    "local": "telephonist.speech.tts.local",
    "azure": "telephonist.speech.tts.azure",
    "cartesia": "telephonist.speech.tts.cartesia",
    "deepgram": "telephonist.speech.tts.deepgram",
}


@dataclass(frozen=True)
class ProviderContext:
    """What a provider may need besides its own block.

    ``file`` and ``key`` locate the block for error messages (e.g. ``credentials.yml``,
    ``twilio_media_streams.asr``). ``environ`` is where API keys come from. ``language`` is
    the assistant's language code. ``phrases`` are example sentences the caller is likely to
    say (from the assistant's NLU data), for engines that can be biased with them.
    """

    file: str
    key: str
    environ: Mapping[str, str] = field(repr=False)
    language: str = "en"
    phrases: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def error(self, message: str, key: str | None = None) -> ConfigError:
        """A ConfigError located at ``self.key`` (or a sub-key of it)."""
        return ConfigError(message, file=self.file, key=f"{self.key}.{key}" if key else self.key)


Factory = Callable[[Mapping[str, Any], ProviderContext], object]


def _factory(
    block: Mapping[str, Any], table: Mapping[str, str], context: ProviderContext
) -> tuple[Factory, str | None]:
    """The function that builds the block's provider, and the dotted name of a user's class
    (None for a built-in)."""
    if not isinstance(block, Mapping):
        raise context.error("must be a mapping with at least a 'name' key")
    name = block.get("name")
    if not isinstance(name, str) or not name.strip():
        raise context.error(
            f"'name' is required; built-ins are {', '.join(sorted(table))} "
            "or a dotted path to your own class",
            key="name",
        )
    name = name.strip()
    if name.lower() in table:
        module = importlib.import_module(table[name.lower()])
        return cast(Factory, module.from_config), None
    if "." not in name:
        raise context.error(
            f"unknown provider {name!r}; built-ins are {', '.join(sorted(table))}"
            " or a dotted path package.module.Class",
            key="name",
        )
    module_name, _, class_name = name.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        detail = "" if from_environment(name) else f": {exc}"  # it would repeat the name
        raise context.error(f"cannot import {name!r}{detail}", key="name") from exc
    if not hasattr(cls, "from_config"):
        raise context.error(f"{name!r} has no from_config(config, context) classmethod", key="name")
    return cast(Factory, cls.from_config), name


def _config(block: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in block.items() if k != "name"} if isinstance(block, Mapping) else {}


def build_asr(block: Mapping[str, Any], context: ProviderContext) -> ASRProvider:
    """The ASR provider an ``asr:`` block describes."""
    factory, user_class = _factory(block, ASR_PROVIDERS, context)
    provider = factory(_config(block), context)
    if user_class is None:
        return cast(ASRProvider, provider)
    return UserASR(provider, user_class, context)


def build_tts(block: Mapping[str, Any], context: ProviderContext) -> TTSEngine:
    """The TTS engine one ``tts:`` block describes (lists are chained by the caller)."""
    factory, user_class = _factory(block, TTS_PROVIDERS, context)
    engine = factory(_config(block), context)
    if user_class is None:
        return cast(TTSEngine, engine)
    return UserTTS(engine, user_class, context)
