"""Turning an ``utter_*`` response into the text the caller hears.

``{name}`` placeholders read the context (a pattern's, or the keyword arguments of a custom
action's ``utter_message(response=..., **kwargs)``), then the slots; an unknown one reads as
nothing. A variation marked ``metadata: {template: jinja}`` is a sandboxed Jinja template
with the slots, ``slots``, ``context`` and the keyword arguments as variables.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from telephonist.dialogue.model import Response, ResponseVariation

__all__ = ["format_value", "jinja_error", "render", "spoken_list"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
_JINJA = SandboxedEnvironment(autoescape=False)


def format_value(value: Any) -> str:
    """How a value reads aloud: 10.0 → "10", None → "", True → "yes", a list → "a, b and c",
    a mapping of corrections → "x to 1, y to 2"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Mapping):
        return ", ".join(
            f"{str(k).replace('_', ' ')} to {format_value(v)}" for k, v in value.items()
        )
    if isinstance(value, list | tuple):
        return spoken_list([format_value(v) for v in value])
    return str(value)


def spoken_list(items: list[str], last: str = "and") -> str:
    """``["a", "b", "c"]`` → ``"a, b and c"``."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def _fill(text: str, slots: Mapping[str, Any], context: Mapping[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1).removeprefix("slots.").removeprefix("context.")
        if name in context:
            return format_value(context[name])
        return format_value(slots.get(name))

    return _PLACEHOLDER.sub(replace, text)


@lru_cache(maxsize=1024)
def _template(text: str) -> Any:
    return _JINJA.from_string(text)


def jinja_error(text: str) -> str | None:
    """Why ``text`` is not a valid Jinja template, or None (for ``telephonist check``)."""
    try:
        _template(text)
    except TemplateError as exc:
        return str(exc)
    return None


def _fill_jinja(text: str, slots: Mapping[str, Any], context: Mapping[str, Any]) -> str:
    values = {**slots, **context, "slots": dict(slots), "context": dict(context)}
    try:
        return str(_template(text).render(values))
    except TemplateError:
        return _PLACEHOLDER.sub("", text)


def _choose(response: Response, scope: Mapping[str, Any], rng: random.Random) -> ResponseVariation:
    """A true conditional variation first, else a random plain one; variations written for
    this channel (``channel: twilio_media_streams``) win over general ones."""
    pool = [v for v in response.variations if v.channel] or list(response.variations)
    conditional = [v for v in pool if v.condition is not None and v.condition.evaluate(scope)]
    if conditional:
        return conditional[0]
    plain = [v for v in pool if v.condition is None]
    if not plain:
        return pool[0]
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
    fill = _fill_jinja if variation.jinja else _fill
    return {
        "text": fill(variation.text, slots, context),
        "ssml": None if variation.ssml is None else _fill(variation.ssml, slots, context),
        "voice": variation.voice,
        "allow_interruptions": variation.allow_interruptions,
        "response": response.name,
    }
