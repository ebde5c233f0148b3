"""Call events: one stream that logs, metrics, recordings and the inspector all subscribe to.

Events are cheap frozen records with a monotonic timestamp. None is emitted per audio frame.
Subscribers are plain callables that must not block (queue work elsewhere if needed); one
failing subscriber is logged and never breaks the call.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CallEvent", "EventBus", "EventKind"]

log = logging.getLogger(__name__)


class EventKind(enum.Enum):
    """What happened."""

    CALL_STARTED = "call.started"
    CALL_ENDED = "call.ended"
    SPEECH_STARTED = "speech.started"
    SPEECH_ENDED = "speech.ended"
    PARTIAL = "asr.partial"
    FINAL = "asr.final"
    TURN = "assistant.turn"
    STATE = "assistant.state"
    """A remote assistant's dialogue state, reported after its turn (for the inspector)."""
    BOT_MESSAGE = "bot.message"
    TTS_FIRST_BYTE = "tts.first_byte"
    BOT_AUDIO_SENT = "bot.audio_sent"
    AUDIO_STARTED = "audio.started"
    MARK_PLAYED = "audio.mark_played"
    PLAYBACK_DONE = "audio.playback_done"
    BARGE_IN = "barge_in"
    """The caller stopped the bot (``clear`` sent); ``pending``: on hold until words decide."""
    BARGE_IN_CONFIRMED = "barge_in.confirmed"
    """Words or a key made a barge-in on hold real: the assistant hears of it now."""
    BARGE_IN_RESUMED = "barge_in.resumed"
    """A barge-in on hold had no words in it: the bot took its message up again."""
    BACKCHANNEL = "caller.backchannel"
    """The caller said only "mm-hm", "yeah"... over the bot: not a turn, not an interruption."""
    SILENCE = "silence.timeout"
    DTMF = "dtmf"
    HANG_UP = "call.hang_up"
    TRANSFER = "call.transfer"
    LATENCY = "turn.latency"
    TURN_DECIDED = "turn.decided"
    """The turn model judged a pause: the turn ended (complete, max_wait, error) or not
    (incomplete), with the probability and how long the decision took."""
    ERROR = "error"
    REJECTED = "stream.rejected"


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One thing that happened in one call."""

    kind: EventKind
    call_id: str
    at: float
    data: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (for logs and the inspector)."""
        return {"kind": self.kind.value, "call_id": self.call_id, "at": self.at, **self.data}


Subscriber = Callable[[CallEvent], None]


class EventBus:
    """Fan-out of call events to subscribers."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns a function that removes it."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def publish(self, event: CallEvent) -> None:
        """Deliver ``event`` to every subscriber."""
        for subscriber in self._subscribers:
            try:
                subscriber(event)
            except Exception:  # a broken observer must never break a call
                log.exception("events.subscriber_failed", extra={"kind": event.kind.value})
