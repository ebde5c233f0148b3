"""Turning an ``utter_*`` response into the text the caller hears."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

from telephonist.dialogue.model import Response, ResponseVariation

__all__ = ["format_value", "render"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


def format_value(value: Any) -> str:
    """How a slot value reads aloud: 10.0 → "10", None → "", True → "yes"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _fill(text: str, slots: Mapping[str, Any], context: Mapping[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1).removeprefix("slots.").removeprefix("context.")
        if name in context:
            return format_value(context[name])
        return format_value(slots.get(name))

    return _PLACEHOLDER.sub(replace, text)


def _choose(response: Response, scope: Mapping[str, Any], rng: random.Random) -> ResponseVariation:
    conditional = [
        v for v in response.variations if v.condition is not None and v.condition.evaluate(scope)
    ]
    if conditional:
        return conditional[0]
    plain = [v for v in response.variations if v.condition is None]
    if not plain:
        return response.variations[0]
    return plain[0] if len(plain) == 1 else rng.choice(plain)


def render(
    response: Response,
    slots: Mapping[str, Any],
    context: Mapping[str, Any],
    rng: random.Random,
) -> dict[str, Any] | None:
    """One bot message dict (``text``, ``ssml``, ``voice``, ``allow_interruptions``)."""
    if not response.variations:
        return None
    variation = _choose(response, {"slots": slots, "context": context}, rng)
    return {
        "text": _fill(variation.text, slots, context),
        "ssml": None if variation.ssml is None else _fill(variation.ssml, slots, context),
        "voice": variation.voice,
        "allow_interruptions": variation.allow_interruptions,
        "response": response.name,
    }
