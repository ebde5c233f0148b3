"""``asr: {name: local, ...}``: the local ASR's keys, checked, and the provider built from them
(`telephonist.speech.asr.local`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telephonist.errors import ConfigError
from telephonist.speech.asr.local import DEFAULT_WINDOW_S, LocalASR, prompt_from_phrases
from telephonist.speech.asr.whisper_model import verify_model
from telephonist.speech.asr.whisper_window import FULL_WINDOW_S
from telephonist.speech.registry import ProviderContext

__all__ = ["from_config"]


def _int(
    config: Mapping[str, Any], key: str, default: int | None, low: int, context: ProviderContext
) -> int | None:
    value = config.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise context.error(f"must be an integer >= {low}", key=key)
    return value


_KEYS = (
    "model_path",
    "beam_size",
    "threads",
    "workers",
    "initial_prompt",
    "language",
    "speculate_ms",
    "window_s",
)


def from_config(config: Mapping[str, Any], context: ProviderContext) -> LocalASR:
    """Build from ``asr: {name: local, model_path, beam_size, threads, workers, initial_prompt,
    language, speculate_ms, window_s}``; checks the model files (and the bundled model's
    sha256) now."""
    for key in config:
        if key not in _KEYS:
            raise context.error(f"unknown key {key!r}; local takes {', '.join(_KEYS)}", key=key)
    model_path = config.get("model_path")
    if model_path is not None and not isinstance(model_path, str):
        raise context.error("must be a directory path", key="model_path")
    language = config.get("language", context.language)
    if not isinstance(language, str) or not language:
        raise context.error("must be a language code like 'en'", key="language")
    prompt = (
        config["initial_prompt"]
        if "initial_prompt" in config
        else prompt_from_phrases(context.phrases)
    )
    if prompt is not None and not isinstance(prompt, str):
        raise context.error("must be text (or null for none)", key="initial_prompt")
    if model_path is None and not language.lower().startswith("en"):
        raise context.error(
            f"the bundled model is English-only; language {language!r} needs "
            "a multilingual model_path",
            key="language",
        )
    speculate = _int(config, "speculate_ms", 60, 0, context)  # null or 0: off
    window = _int(config, "window_s", DEFAULT_WINDOW_S, 1, context) or DEFAULT_WINDOW_S
    if window > FULL_WINDOW_S:
        raise context.error(
            f"must be at most {FULL_WINDOW_S} (Whisper's own window)", key="window_s"
        )
    try:
        asr = LocalASR(
            model_path,
            beam_size=_int(config, "beam_size", 1, 1, context) or 1,
            threads=_int(config, "threads", None, 1, context),
            workers=_int(config, "workers", 2, 1, context) or 2,
            initial_prompt=prompt or None,
            language=language.split("-")[0].lower(),
            speculate_ms=speculate or None,
            window_s=window,
        )
        verify_model(asr.model_path, asr.sha256)
    except ConfigError as exc:
        raise context.error(str(exc), key="model_path") from exc
    return asr
