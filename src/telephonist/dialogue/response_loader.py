"""``responses:`` of a domain file → :class:`Response` values, with located problems.

A phone speaks only text: buttons, images and custom payloads are accepted and not said; a
variation with no text at all is skipped (with a warning). ``metadata: {template: jinja}``
marks a Jinja template (``{{ context.x }}``); other metadata (``rephrase``, ...) is read and
not acted on.
"""

from __future__ import annotations

from typing import Any

from telephonist.dialogue.conditions import Condition, ConditionSyntaxError, parse_condition
from telephonist.dialogue.model import Response, ResponseVariation
from telephonist.dialogue.source import Document, KeyPath, Problems

__all__ = ["read_response"]

CHANNEL = "twilio_media_streams"
_SILENT_KEYS = {
    "buttons",
    "image",
    "custom",
    "attachment",
    "elements",
    "quick_replies",
    "button_type",
}
_KNOWN_KEYS = {
    "text",
    "condition",
    "ssml",
    "voice",
    "allow_interruptions",
    "metadata",
    "channel",
    "id",
    *_SILENT_KEYS,
}


def _condition(doc: Document, problems: Problems, path: KeyPath, raw: Any) -> Condition | None:
    """Rasa's list form ``[{type: slot, name: x, value: y}]`` or one expression string."""
    if isinstance(raw, list):
        parts = []
        for i, item in enumerate(raw):
            if (
                not isinstance(item, dict)
                or item.get("type", "slot") != "slot"
                or "name" not in item
            ):
                problems.add(doc, (*path, i), "expected {type: slot, name: SLOT, value: VALUE}")
                continue
            value = item.get("value")
            rhs = str(value).lower() if isinstance(value, bool) else repr(value)
            parts.append(
                f"slots.{item['name']} is null"
                if value is None
                else f"slots.{item['name']} = {rhs}"
            )
        raw = " and ".join(parts) or "true"
    try:
        return parse_condition(raw)
    except ConditionSyntaxError as exc:
        problems.add(doc, path, f"bad condition: {exc}")
        return None


def _variation(
    doc: Document, problems: Problems, path: KeyPath, item: Any
) -> ResponseVariation | None:
    if not isinstance(item, dict):
        problems.add(doc, path, "each variation must be a mapping with a text")
        return None
    for key in item:
        if key not in _KNOWN_KEYS:
            problems.add(doc, (*path, key), f"unknown response key {key!r}", "warning")
    text = item.get("text")
    if text is None:
        if _SILENT_KEYS & set(item):
            problems.add(doc, path, "has no text: a caller hears nothing (skipped)", "warning")
        else:
            problems.add(doc, (*path, "text"), "each variation needs a text string")
        return None
    if not isinstance(text, str | int | float) or isinstance(text, bool):
        problems.add(doc, (*path, "text"), "must be a string")
        return None
    condition = None
    if item.get("condition") is not None:
        condition = _condition(doc, problems, (*path, "condition"), item["condition"])
    allow = item.get("allow_interruptions", True)
    if not isinstance(allow, bool):
        problems.add(doc, (*path, "allow_interruptions"), "must be true or false")
        allow = True
    raw_metadata = item.get("metadata")
    metadata: dict[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    channel = item.get("channel")
    return ResponseVariation(
        text=str(text),
        condition=condition,
        ssml=item.get("ssml"),
        voice=item.get("voice"),
        allow_interruptions=allow,
        jinja=metadata.get("template") == "jinja",
        channel=None if channel is None else str(channel),
    )


def read_response(doc: Document, problems: Problems, name: str, raw: Any) -> Response:
    """One ``utter_*`` response. Variations for another channel than Twilio are dropped."""
    path: KeyPath = ("responses", name)
    if not isinstance(raw, list) or not raw:
        problems.add(doc, path, "must be a list of variations, each with a text")
        return Response(name, (), doc.file)
    found = [_variation(doc, problems, (*path, i), item) for i, item in enumerate(raw)]
    variations = [v for v in found if v is not None and v.channel in (None, CHANNEL)]
    return Response(name, tuple(variations), doc.file)
