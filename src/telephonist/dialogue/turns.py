"""The `Assistant` seam: what the call layer sends to the assistant and what it gets back.

The voice channel, `telephonist shell` and tests all talk to an assistant only through these
types, so a scripted assistant, the built-in dialogue engine or a bridge to a remote one are
interchangeable. Nothing here knows about audio.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = [
    "Assistant",
    "AssistantTurn",
    "BargedIn",
    "BotMessage",
    "CollectDtmf",
    "LlmReport",
    "SessionEnd",
    "SessionResumed",
    "SessionStart",
    "Silence",
    "UserEvent",
    "UserText",
]


@dataclass(frozen=True, slots=True)
class SessionStart:
    """The call connected. ``metadata`` holds call_id, stream_id, user_phone, bot_phone,
    direction and the stream's custom parameters."""

    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SessionResumed:
    """The call's media stream was lost and a new one connected (``stream`` counts from 1),
    maybe on another server process: the conversation goes on where it was, from the store.
    ``metadata`` is the new stream's, as for `SessionStart`."""

    metadata: Mapping[str, Any] = field(default_factory=dict)
    stream: int = 1


@dataclass(frozen=True, slots=True)
class UserText:
    """The caller said (or keyed, or typed) something."""

    text: str
    source: Literal["speech", "dtmf", "typed"] = "speech"
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class Silence:
    """The caller stayed silent for the silence timeout; ``consecutive`` counts from 1."""

    consecutive: int


@dataclass(frozen=True, slots=True)
class SessionEnd:
    """The call ended (``reason``: "caller hung up", "bot hung up", "stream closed", ...).

    ``resumable``: only the stream was lost, and the call may come back with
    `SessionResumed` (here or on another process): release what is held for it, but keep
    its stored state as it is and do not end the conversation. ``stream``: which of the
    call's streams ended (0 the first; as `SessionResumed`'s), since a lost stream's end may
    reach the assistant after its successor resumed on the same process."""

    reason: str
    resumable: bool = False
    stream: int = 0


@dataclass(frozen=True, slots=True)
class BargedIn:
    """The caller interrupted the bot; ``heard_text`` is the part of the message they heard."""

    heard_text: str
    full_text: str = ""


UserEvent = SessionStart | SessionResumed | UserText | Silence | SessionEnd | BargedIn


@dataclass(frozen=True, slots=True)
class BotMessage:
    """One thing the bot says. ``ssml`` (when set) is given to TTS engines that accept it."""

    text: str
    ssml: str | None = None
    voice: str | None = None
    allow_interruptions: bool = True


@dataclass(frozen=True, slots=True)
class CollectDtmf:
    """Ask the channel to buffer keypresses until ``length`` digits or ``finish_on_key``."""

    length: int | None = None
    finish_on_key: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LlmReport:
    """What a command generator did for one caller message, for logs, metrics and the
    inspector: ``path`` ``nlu`` (the NLU decided alone, no model was asked; the other fields
    keep their defaults) or ``llm`` (the model's answer: how the request ended, how long it
    took, the commands kept, lines that were not commands, commands naming an unknown flow or
    slot, and the model)."""

    path: Literal["nlu", "llm"]
    outcome: str = ""
    latency_ms: float = 0.0
    commands: tuple[str, ...] = ()
    unparsed: int = 0
    invalid: int = 0
    model: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form: ``{"path": "nlu"}`` alone when the model was not asked."""
        if self.path == "nlu":
            return {"path": self.path}
        return {
            "path": self.path,
            "outcome": self.outcome,
            "latency_ms": self.latency_ms,
            "commands": list(self.commands),
            "unparsed": self.unparsed,
            "invalid": self.invalid,
            "model": self.model,
        }


@dataclass(frozen=True, slots=True)
class AssistantTurn:
    """What the assistant wants the call to do next.

    ``silence_timeout`` is the timeout in force after this turn (seconds; None = channel
    default, 0 = do not monitor). ``state`` is a JSON-able snapshot (flow stack, slots, last
    intent) for the inspector and logs; the channel never interprets it. ``llm`` is the
    command generator's report (None: none configured, or no caller words to read), and
    ``llm_ms`` the time the turn waited for its model (None: no model was asked).
    ``sensitive``: the question asked waits for secret input (a card number): call
    recordings pause until the next turn, and the answer never reaches a transcript.
    """

    messages: tuple[BotMessage, ...] = ()
    hang_up: bool = False
    transfer_to: str | None = None
    collect_dtmf: CollectDtmf | None = None
    silence_timeout: float | None = None
    state: Mapping[str, Any] = field(default_factory=dict)
    llm_ms: float | None = None
    sensitive: bool = False
    llm: LlmReport | None = None


class Assistant(Protocol):
    """The dialogue engine, or a bridge to a remote one. Must never raise for bad user input."""

    async def handle(self, conversation_id: str, event: UserEvent) -> AssistantTurn:
        """The answer to one caller event."""

    async def close(self) -> None:
        """Release stores and clients (at shutdown)."""
