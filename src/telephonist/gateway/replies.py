"""Rasa's bot messages → what the caller hears and what the call does. Pure.

Rasa's REST channel answers a list of messages, each with ``text``, ``buttons``, ``image``,
``attachment`` or ``custom``. On a phone:

- ``text`` is spoken.
- ``buttons`` (and ``quick_replies``) are read out as a keypad menu ("For billing, press 1.")
  and become choices: key N, or saying the N-th title, sends that button's payload.
- ``image`` and ``attachment`` cannot be heard and are skipped.
- ``custom`` follows the *voice payload convention*: ``hangup: true``, ``transfer: "+1..."``,
  ``collect_dtmf: {length: N}`` or ``{finish_on_key: "#"}``, ``silence_timeout: S`` control
  the call; ``ssml``, ``voice`` and ``allow_interruptions: false`` shape the message. Rasa
  sends a response's text and its custom payload as two messages (text first), so those three
  apply to the message just before; a custom payload with ``text`` or ``ssml`` and nothing
  before it is a message of its own.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from html import unescape
from typing import Any

from telephonist.dialogue.turns import AssistantTurn, BotMessage, CollectDtmf

__all__ = ["Choice", "Reply", "plain_text", "read_reply"]

log = logging.getLogger(__name__)

_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_KEYS = "123456789"
_FINISH_KEYS = set("0123456789*#")


@dataclass(frozen=True, slots=True)
class Choice:
    """One button: pressing ``key`` (or saying ``title``) sends ``payload``."""

    key: str | None
    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    """Rasa's answer read for a phone call."""

    turn: AssistantTurn
    choices: tuple[Choice, ...] = ()
    ssml_dropped: bool = False
    """A message's SSML was left out because the TTS cannot take it (its text is spoken)."""
    transfer_refused: bool = False
    """Rasa asked for a transfer that is not possible here; the caller was told instead."""
    problems: tuple[str, ...] = field(default_factory=tuple)
    """Parts of the answer that were ignored, for one log line."""


def plain_text(ssml: str) -> str:
    """The words of an SSML document, for a TTS that cannot take SSML."""
    return _SPACE.sub(" ", unescape(_TAG.sub(" ", ssml))).strip()


class _Reader:
    """Accumulates one answer's messages and call actions."""

    def __init__(self, press: str, ssml_ok: bool, can_transfer: bool, no_transfer: str) -> None:
        self.press = press
        self.ssml_ok = ssml_ok
        self.can_transfer = can_transfer
        self.no_transfer = no_transfer
        self.messages: list[BotMessage] = []
        self.choices: list[Choice] = []
        self.hang_up = False
        self.transfer_to: str | None = None
        self.collect: CollectDtmf | None = None
        self.sensitive = False
        self.silence_timeout: float | None = None
        self.ssml_dropped = False
        self.transfer_refused = False
        self.problems: list[str] = []

    def read(self, item: Any) -> None:
        if not isinstance(item, Mapping):
            self.problems.append("a message that is not an object")
            return
        text = item.get("text")
        buttons = item.get("buttons") or item.get("quick_replies")
        if (isinstance(text, str) and text.strip()) or buttons:
            spoken = text.strip() if isinstance(text, str) else ""
            if buttons:
                spoken = " ".join(filter(None, [spoken, self._menu(buttons)]))
            if spoken:
                self.messages.append(BotMessage(spoken))
        for skipped in ("image", "attachment"):
            if item.get(skipped):
                log.debug("gateway.skipped %s: cannot be heard on a call", skipped)
        custom = item.get("custom")
        if custom is not None:
            if isinstance(custom, Mapping):
                self._custom(custom)
            else:
                self.problems.append("a custom payload that is not an object")

    def _menu(self, buttons: Any) -> str:
        if not isinstance(buttons, Sequence) or isinstance(buttons, str):
            self.problems.append("buttons that are not a list")
            return ""
        self.choices.clear()  # the latest menu is the one the keys answer
        lines = []
        for button in buttons:
            title, payload = _button(button)
            if title is None or payload is None:
                self.problems.append("a button without a title and a payload")
                continue
            key = _KEYS[len(self.choices)] if len(self.choices) < len(_KEYS) else None
            self.choices.append(Choice(key, title, payload))
            if key is not None:
                lines.append(self.press.replace("{title}", title).replace("{key}", key))
        return " ".join(lines)

    def _custom(self, custom: Mapping[str, Any]) -> None:
        own_text = custom.get("text")
        ssml = custom.get("ssml")
        if not isinstance(ssml, str) or not ssml.strip():
            ssml = None
        if isinstance(own_text, str) and own_text.strip():
            self.messages.append(BotMessage(own_text.strip()))
        elif ssml is not None and not self.messages:
            self.messages.append(BotMessage(plain_text(ssml)))
        shape: dict[str, Any] = {}
        if ssml is not None:
            if self.ssml_ok:
                shape["ssml"] = ssml
            else:
                self.ssml_dropped = True
        if isinstance(custom.get("voice"), str):
            shape["voice"] = custom["voice"]
        if custom.get("allow_interruptions") is False:
            shape["allow_interruptions"] = False
        if shape and self.messages:
            self.messages[-1] = replace(self.messages[-1], **shape)
        if custom.get("hangup") is True:
            self.hang_up = True
        self._transfer(custom.get("transfer"))
        if "collect_dtmf" in custom:
            self.collect = self._collect(custom["collect_dtmf"])
        if "sensitive" in custom:
            if isinstance(custom["sensitive"], bool):
                self.sensitive = custom["sensitive"]
            else:
                self.problems.append("sensitive must be true or false")
        timeout = custom.get("silence_timeout")
        if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout >= 0:
            self.silence_timeout = float(timeout)

    def _transfer(self, number: Any) -> None:
        if number is None:
            return
        if not isinstance(number, str) or not number.strip():
            self.problems.append("transfer must be a phone number or SIP address")
        elif self.can_transfer:
            self.transfer_to = number.strip()
        else:
            self.transfer_refused = True
            self.messages.append(BotMessage(self.no_transfer))

    def _collect(self, value: Any) -> CollectDtmf | None:
        if not isinstance(value, Mapping):
            self.problems.append("collect_dtmf must be {length: N} or {finish_on_key: '#'}")
            return None
        length, finish = value.get("length"), value.get("finish_on_key")
        if length is not None and (
            isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 64
        ):
            self.problems.append("collect_dtmf.length must be a whole number from 1 to 64")
            length = None
        if finish is not None and (not isinstance(finish, str) or finish not in _FINISH_KEYS):
            self.problems.append("collect_dtmf.finish_on_key must be one key: 0-9, * or #")
            finish = None
        if length is None and finish is None:
            return None
        return CollectDtmf(length=length, finish_on_key=finish)


def _button(button: Any) -> tuple[str | None, str | None]:
    if not isinstance(button, Mapping):
        return None, None
    title, payload = button.get("title"), button.get("payload")
    return (
        title.strip() if isinstance(title, str) and title.strip() else None,
        payload if isinstance(payload, str) and payload else None,
    )


def read_reply(
    answer: Sequence[Any],
    *,
    press: str = "For {title}, press {key}.",
    ssml_ok: bool = False,
    can_transfer: bool = True,
    no_transfer: str = "Sorry, I can't transfer your call right now.",
) -> Reply:
    """Read one REST answer (a list of bot messages) for the call."""
    reader = _Reader(press, ssml_ok, can_transfer, no_transfer)
    for item in answer:
        reader.read(item)
    turn = AssistantTurn(
        messages=tuple(reader.messages),
        hang_up=reader.hang_up,
        transfer_to=reader.transfer_to,
        collect_dtmf=reader.collect,
        silence_timeout=reader.silence_timeout,
        sensitive=reader.sensitive,
    )
    return Reply(
        turn,
        tuple(reader.choices),
        reader.ssml_dropped,
        reader.transfer_refused,
        tuple(reader.problems),
    )
