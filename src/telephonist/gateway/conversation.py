"""What the gateway remembers about one call while it lasts: the call's metadata, the menu the
caller may answer with keys or titles, the last thing the bot said (for silence), what the
caller heard before barging in, and the request to Rasa still in flight.

All of it but the request in flight is saved in the store after each turn that changes it, so
a call whose stream is lost goes on with the same menu and question on any instance; a request
in flight when the stream is lost is saved as an answer due, then as its answer."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from telephonist.dialogue.turns import AssistantTurn, BotMessage, CollectDtmf
from telephonist.gateway.replies import Choice

__all__ = ["Conversation"]

_WORD = re.compile(r"[^\w']+")

METADATA_KEYS = ("call_id", "stream_id", "user_phone", "bot_phone", "direction")


def _words(text: str) -> list[str]:
    return [w for w in _WORD.split(text.lower()) if w]


@dataclass
class Conversation:
    """One call's gateway state."""

    sender: str
    metadata: dict[str, Any] = field(default_factory=dict)
    choices: tuple[Choice, ...] = ()
    last_turn: AssistantTurn | None = None
    interrupted: dict[str, str] | None = None
    in_flight: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while a request to Rasa runs, past the caller's timeout too: one at a time."""
    saved: dict[str, Any] | None = None
    """What the store holds for this call (so an unchanged state is not written again)."""
    stream: int = 0
    """The call's newest stream here: an earlier one's end must not forget the call."""
    answer_due: float | None = None
    """Wall-clock time by which Rasa's answer to a message sent on a lost stream is due: until
    then a resume on another instance waits for this one to store it."""

    def to_dict(self) -> dict[str, Any]:
        """The state to store (JSON-able)."""
        last = self.last_turn
        return {
            "gateway": 1,
            "metadata": self.metadata,
            "choices": [[c.key, c.title, c.payload] for c in self.choices],
            "last_turn": None if last is None else _turn_dict(last),
            "interrupted": self.interrupted,
            "answer_due": self.answer_due,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take back what `to_dict` stored (the metadata stays the new stream's)."""
        self.choices = tuple(Choice(k, t, p) for k, t, p in state.get("choices") or ())
        last = state.get("last_turn")
        self.last_turn = None if not isinstance(last, Mapping) else _turn_of(last)
        self.interrupted = state.get("interrupted")
        if not self.metadata and isinstance(state.get("metadata"), Mapping):
            self.metadata = dict(state["metadata"])
        self.saved = dict(state)

    def start(self, metadata: Any) -> None:
        """Keep the call's metadata (sent with every message)."""
        data = dict(metadata) if isinstance(metadata, Mapping) else {}
        base = {key: data.get(key, "") for key in METADATA_KEYS}
        custom = data.get("custom_parameters")
        base["custom_parameters"] = dict(custom) if isinstance(custom, Mapping) else {}
        self.metadata = base

    def metadata_for(self, source: str, **extra: Any) -> dict[str, Any]:
        """The metadata of the next message; a pending barge-in report goes with it once."""
        data = {**self.metadata, "source": source, **extra}
        if self.interrupted is not None:
            data["interrupted"] = self.interrupted
            self.interrupted = None
        return data

    def choice_for(self, text: str, *, keyed: bool) -> Choice | None:
        """The menu entry a key (``keyed``) or an utterance picks, if any."""
        if not self.choices:
            return None
        if keyed:
            return next((c for c in self.choices if c.key == text), None)
        said = _words(text)
        if not said:
            return None
        exact = [c for c in self.choices if _words(c.title) == said]
        if exact:
            return exact[0]
        contained = [c for c in self.choices if set(_words(c.title)) <= set(said)]
        return contained[0] if len(contained) == 1 else None


def _turn_dict(turn: AssistantTurn) -> dict[str, Any]:
    """What of a turn is asked again after a resume or a silence."""
    dtmf = turn.collect_dtmf
    return {
        "messages": [[m.text, m.ssml, m.voice, m.allow_interruptions] for m in turn.messages],
        "collect_dtmf": None if dtmf is None else [dtmf.length, dtmf.finish_on_key],
        "silence_timeout": turn.silence_timeout,
        "sensitive": turn.sensitive,
        "hang_up": turn.hang_up,
    }


def _turn_of(data: Mapping[str, Any]) -> AssistantTurn:
    dtmf = data.get("collect_dtmf")
    return AssistantTurn(
        messages=tuple(BotMessage(t, s, v, bool(i)) for t, s, v, i in data.get("messages") or ()),
        collect_dtmf=None if dtmf is None else CollectDtmf(dtmf[0], dtmf[1]),
        silence_timeout=data.get("silence_timeout"),
        sensitive=data.get("sensitive") is True,
        hang_up=data.get("hang_up") is True,
    )
