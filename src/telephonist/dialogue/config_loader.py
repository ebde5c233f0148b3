"""``config.yml`` → frozen model, with located problems.

Of Rasa's pipeline only what the built-in engine uses is read: the ``FallbackClassifier``
threshold and the entry of an LLM command generator (kept as written for the engine that
runs it). Other components and policies are named but not run.
"""

from __future__ import annotations

from typing import Any

from telephonist.dialogue.fields import as_mapping, number
from telephonist.dialogue.model import Config
from telephonist.dialogue.source import Document, Problems

__all__ = ["LLM_COMMAND_GENERATORS", "read_config"]

_DEFAULTS = Config()
LLM_COMMAND_GENERATORS = (
    "CompactLLMCommandGenerator",
    "SearchReadyLLMCommandGenerator",
    "SingleStepLLMCommandGenerator",
    "MultiStepLLMCommandGenerator",
    "LLMCommandGenerator",
)


def _component_names(doc: Document, problems: Problems, key: str, raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add(doc, (key,), "must be a list of components, each with a name")
        return []
    found = []
    for i, item in enumerate(raw):
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            found.append(item["name"])
        else:
            problems.add(doc, (key, i), "each component needs a name")
    return found


def read_config(doc: Document | None, problems: Problems) -> Config:
    """``language``, ``assistant_id``, ``nlu:`` options, the pipeline's fallback threshold
    and LLM command generator."""
    if doc is None:
        return Config()
    data = as_mapping(doc, problems, (), doc.data)
    language = data.get("language", "en")
    if not isinstance(language, str) or not language:
        problems.add(doc, ("language",), "must be a language code such as 'en'")
        language = "en"
    nlu = as_mapping(doc, problems, ("nlu",), data.get("nlu"))
    threshold = number(
        doc, problems, ("nlu", "fallback_threshold"), nlu.get("fallback_threshold"), 0.3
    )
    pipeline = _component_names(doc, problems, "pipeline", data.get("pipeline"))
    generator = None
    for i, item in enumerate(data.get("pipeline") or []):
        name = item.get("name") if isinstance(item, dict) else None
        if name == "FallbackClassifier":
            threshold = number(
                doc, problems, ("pipeline", i, "threshold"), item.get("threshold"), threshold
            )
        elif name in LLM_COMMAND_GENERATORS and generator is None:
            generator = dict(item)
    transfer = data.get("transfer_number")
    if transfer is not None and not isinstance(transfer, str | int):
        problems.add(doc, ("transfer_number",), "must be a phone number string")
        transfer = None
    return Config(
        language=language,
        assistant_id=str(data.get("assistant_id", "assistant")),
        fallback_threshold=threshold,
        transfer_number=None if transfer is None else str(transfer),
        topic_change_confidence=number(
            doc,
            problems,
            ("nlu", "topic_change_confidence"),
            nlu.get("topic_change_confidence"),
            _DEFAULTS.topic_change_confidence,
        ),
        topic_change_margin=number(
            doc,
            problems,
            ("nlu", "topic_change_margin"),
            nlu.get("topic_change_margin"),
            _DEFAULTS.topic_change_margin,
        ),
        command_generator=generator,
        pipeline=tuple(pipeline),
        policies=tuple(_component_names(doc, problems, "policies", data.get("policies"))),
    )
