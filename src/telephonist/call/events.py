"""Call events: one stream that logs, metrics, recordings and the inspector all subscribe to.

Each kind of event is its own frozen record class with typed fields, so a reader that names
a field that is not there is a type error, not a silent gap. Events are cheap, carry a
monotonic timestamp, and none is emitted per audio frame. Code inside a call builds an event
without ``call_id`` and ``at`` and its session stamps both (`CallEvent.stamped`).
`CallEvent.as_dict` is the JSON shape logs and the inspector send: ``kind``, ``call_id``,
``at`` and the fields, those marked `omitted_if_none` left out when None.

They travel on an `EventBus` (`telephonist.call.event_bus`, also importable from here).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar, Self

from telephonist.call.event_bus import EventBus
from telephonist.dialogue.turns import LlmReport

__all__ = [
    "AsrFinal",
    "AsrPartial",
    "AssistantState",
    "AudioStarted",
    "Backchannel",
    "BargeIn",
    "BargeInConfirmed",
    "BargeInResumed",
    "BotAudioSent",
    "BotHungUp",
    "BotMessageStarted",
    "CallEnded",
    "CallEvent",
    "CallStarted",
    "ErrorReported",
    "EventBus",
    "EventKind",
    "KeyPressed",
    "MarkPlayed",
    "PlaybackDone",
    "SilenceTimeout",
    "SpeechEnded",
    "SpeechStarted",
    "StreamRejected",
    "Transferred",
    "TtsEngineFailed",
    "TtsFirstByte",
    "TurnLatency",
    "TurnTaken",
    "omitted_if_none",
]


class EventKind(enum.Enum):
    """What happened: the ``kind`` an event has on the wire."""

    CALL_STARTED = "call.started"
    CALL_ENDED = "call.ended"
    SPEECH_STARTED = "speech.started"
    SPEECH_ENDED = "speech.ended"
    PARTIAL = "asr.partial"
    FINAL = "asr.final"
    TURN = "assistant.turn"
    STATE = "assistant.state"
    BOT_MESSAGE = "bot.message"
    TTS_FIRST_BYTE = "tts.first_byte"
    BOT_AUDIO_SENT = "bot.audio_sent"
    AUDIO_STARTED = "audio.started"
    MARK_PLAYED = "audio.mark_played"
    PLAYBACK_DONE = "audio.playback_done"
    BARGE_IN = "barge_in"
    BARGE_IN_CONFIRMED = "barge_in.confirmed"
    BARGE_IN_RESUMED = "barge_in.resumed"
    BACKCHANNEL = "caller.backchannel"
    SILENCE = "silence.timeout"
    DTMF = "dtmf"
    HANG_UP = "call.hang_up"
    TRANSFER = "call.transfer"
    LATENCY = "turn.latency"
    TURN_DECIDED = "turn.decided"
    ERROR = "error"
    REJECTED = "stream.rejected"


_OMIT = "omit_if_none"


def omitted_if_none() -> Any:
    """A field defaulting to None that `CallEvent.as_dict` leaves out while it is None."""
    return field(default=None, metadata={_OMIT: True})


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEvent:
    """One thing that happened in one call (the base of every kind below)."""

    kind: ClassVar[EventKind]
    call_id: str = ""
    """Empty for what belongs to no call (a voice failing while no call is known)."""
    at: float = 0.0
    """Monotonic clock time."""

    def stamped(self, call_id: str, at: float) -> Self:
        """This event as it happened in call ``call_id`` at ``at``."""
        return replace(self, call_id=call_id, at=at)

    def fields_dict(self) -> dict[str, Any]:
        """The event's own fields (no ``kind``, ``call_id``, ``at``), JSON-able in shape."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("call_id", "at") or (value is None and f.metadata.get(_OMIT)):
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (for logs and the inspector)."""
        return {
            "kind": self.kind.value,
            "call_id": self.call_id,
            "at": self.at,
            **self.fields_dict(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class CallStarted(CallEvent):
    """A call's stream began (again, with ``stream`` ≥ 1, on a resumed call)."""

    kind: ClassVar[EventKind] = EventKind.CALL_STARTED
    user_phone: str | None = omitted_if_none()
    bot_phone: str | None = omitted_if_none()
    direction: str | None = omitted_if_none()
    stream_id: str | None = omitted_if_none()
    stream: int | None = omitted_if_none()


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded(CallEvent):
    """The call (or its stream) is over."""

    kind: ClassVar[EventKind] = EventKind.CALL_ENDED
    reason: str
    duration_s: float
    stream: int | None = omitted_if_none()
    """Which of the call's streams ended (as `CallStarted`'s; None for the first)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeechStarted(CallEvent):
    """The VAD heard the caller begin, ``offset_ms`` into the caller's audio."""

    kind: ClassVar[EventKind] = EventKind.SPEECH_STARTED
    offset_ms: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeechEnded(CallEvent):
    """The VAD heard the caller stop, ``offset_ms`` into the caller's audio."""

    kind: ClassVar[EventKind] = EventKind.SPEECH_ENDED
    offset_ms: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AsrPartial(CallEvent):
    """Words recognised so far in an utterance."""

    kind: ClassVar[EventKind] = EventKind.PARTIAL
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AsrFinal(CallEvent):
    """An utterance's final transcript (empty: no words in it)."""

    kind: ClassVar[EventKind] = EventKind.FINAL
    text: str
    confidence: float | None
    sentence_end: float | None = omitted_if_none()
    """The recogniser's probability that a sentence ends there (`Final.sentence_end`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnTaken(CallEvent):
    """The assistant answered one event: what the caller did (``text``, ``source`` and
    ``confidence`` for their words) and what it answered."""

    kind: ClassVar[EventKind] = EventKind.TURN
    event: str
    """The assistant event's class name (``UserText``, ``Silence``...)."""
    text: str | None
    source: str | None
    confidence: float | None
    sensitive: bool
    assistant_ms: float
    messages: tuple[str, ...]
    hang_up: bool
    state: Mapping[str, Any]
    """The assistant's state snapshot (for the inspector)."""
    llm: LlmReport | None = omitted_if_none()  # noqa: RUF009 - None by default, and frozen
    """The command generator's report; on the wire it is ``state["llm"]``, as it always was."""

    def fields_dict(self) -> dict[str, Any]:
        """The fields, with the command generator's report inside ``state``."""
        out = CallEvent.fields_dict(self)  # (a slots dataclass has no zero-argument super)
        if self.llm is not None:
            del out["llm"]
            out["state"] = {**self.state, "llm": self.llm.as_dict()}
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class AssistantState(CallEvent):
    """A remote assistant's dialogue state, reported after its turn (for the inspector)."""

    kind: ClassVar[EventKind] = EventKind.STATE
    state: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class BotMessageStarted(CallEvent):
    """The bot begins a message (its synthesis and audio follow)."""

    kind: ClassVar[EventKind] = EventKind.BOT_MESSAGE
    message_id: int
    text: str
    allow_interruptions: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class TtsFirstByte(CallEvent):
    """A message's first audio was sent, ``tts_ms`` after its synthesis was asked for."""

    kind: ClassVar[EventKind] = EventKind.TTS_FIRST_BYTE
    message_id: int
    tts_ms: float


@dataclass(frozen=True, slots=True, kw_only=True)
class BotAudioSent(CallEvent):
    """A message's audio is all sent."""

    kind: ClassVar[EventKind] = EventKind.BOT_AUDIO_SENT
    message_id: int
    bytes: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AudioStarted(CallEvent):
    """Bot audio began to play."""

    kind: ClassVar[EventKind] = EventKind.AUDIO_STARTED


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkPlayed(CallEvent):
    """Twilio echoed a mark: the caller heard ``offset`` bytes of message ``message_id``."""

    kind: ClassVar[EventKind] = EventKind.MARK_PLAYED
    message_id: int
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybackDone(CallEvent):
    """Everything sent has been played (or given up on)."""

    kind: ClassVar[EventKind] = EventKind.PLAYBACK_DONE


@dataclass(frozen=True, slots=True, kw_only=True)
class BargeIn(CallEvent):
    """The caller stopped the bot (``clear`` sent); ``pending``: on hold until words decide."""

    kind: ClassVar[EventKind] = EventKind.BARGE_IN
    trigger: str
    heard: str
    full: str
    pending: bool
    onset_to_clear_ms: float | None = omitted_if_none()
    """Caller speech onset (as the VAD dated it) to ``clear``; None without speech."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BargeInConfirmed(CallEvent):
    """Words or a key made a barge-in on hold real: the assistant hears of it now."""

    kind: ClassVar[EventKind] = EventKind.BARGE_IN_CONFIRMED
    trigger: str
    heard: str
    full: str
    held_ms: float


@dataclass(frozen=True, slots=True, kw_only=True)
class BargeInResumed(CallEvent):
    """A barge-in on hold had no words in it: the bot took its message up again."""

    kind: ClassVar[EventKind] = EventKind.BARGE_IN_RESUMED
    reason: str
    """``no_words`` or ``backchannel``."""
    text: str
    message_id: int | None
    offset: int
    held_ms: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Backchannel(CallEvent):
    """The caller said only "mm-hm", "yeah"... over the bot: not a turn, not an interruption."""

    kind: ClassVar[EventKind] = EventKind.BACKCHANNEL
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SilenceTimeout(CallEvent):
    """The caller was silent for ``timeout`` seconds (``consecutive`` times in a row)."""

    kind: ClassVar[EventKind] = EventKind.SILENCE
    consecutive: int
    timeout: float


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyPressed(CallEvent):
    """A keypress."""

    kind: ClassVar[EventKind] = EventKind.DTMF
    digit: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BotHungUp(CallEvent):
    """The bot hangs up, ``via`` ``rest`` or ``socket``."""

    kind: ClassVar[EventKind] = EventKind.HANG_UP
    via: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Transferred(CallEvent):
    """The call is transferred to number ``to``."""

    kind: ClassVar[EventKind] = EventKind.TRANSFER
    to: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnLatency(CallEvent):
    """How long the caller waited for the bot's answer, and where the time went."""

    kind: ClassVar[EventKind] = EventKind.LATENCY
    speech_end_to_audio_ms: float
    final_to_audio_ms: float
    assistant_ms: float
    tts_first_byte_ms: float
    llm_ms: float | None = omitted_if_none()


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorReported(CallEvent):
    """Something failed (``source``: asr, tts, twilio, assistant, session)."""

    kind: ClassVar[EventKind] = EventKind.ERROR
    source: str
    message: str
    retryable: bool | None = omitted_if_none()
    message_id: int | None = omitted_if_none()
    """The bot message whose voice failed."""
    event: str | None = omitted_if_none()
    """The assistant event dropped (a full queue)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TtsEngineFailed(ErrorReported):
    """One voice of a fallback chain failed one message; ``next_engine`` (None: nobody)
    speaks it instead."""

    engine: str
    next_engine: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamRejected(CallEvent):
    """``count`` media-socket frames were refused for ``reason`` (a `Rejection` value)."""

    kind: ClassVar[EventKind] = EventKind.REJECTED
    reason: str
    count: int
