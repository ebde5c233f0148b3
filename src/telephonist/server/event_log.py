"""Call events to log lines: one per call start and end, one per turn with its latencies,
and warnings for errors. Never one per frame, never a secret (events carry none)."""

from __future__ import annotations

import logging
from typing import Any

from telephonist.call.events import CallEvent, EventKind

__all__ = ["EventLogger"]

log = logging.getLogger("telephonist.calls")

_INFO = {
    EventKind.CALL_STARTED,
    EventKind.CALL_ENDED,
    EventKind.LATENCY,
    EventKind.BARGE_IN,
    EventKind.BARGE_IN_CONFIRMED,
    EventKind.BARGE_IN_RESUMED,
    EventKind.BACKCHANNEL,
    EventKind.SILENCE,
    EventKind.HANG_UP,
    EventKind.TRANSFER,
    EventKind.FINAL,
    EventKind.BOT_MESSAGE,
}
_DEBUG = {
    EventKind.SPEECH_STARTED,
    EventKind.SPEECH_ENDED,
    EventKind.PARTIAL,
    EventKind.DTMF,
    EventKind.TTS_FIRST_BYTE,
    EventKind.BOT_AUDIO_SENT,
    EventKind.MARK_PLAYED,
    EventKind.PLAYBACK_DONE,
    EventKind.TURN,
    EventKind.STATE,
    EventKind.REJECTED,  # the media socket logs these itself, within bounds
}


class EventLogger:
    """An `EventBus` subscriber that writes call events to the standard logging system."""

    def __call__(self, event: CallEvent) -> None:
        if event.kind in _INFO:
            level = logging.INFO
        elif event.kind in _DEBUG:
            level = logging.DEBUG
        else:
            level = logging.WARNING
        if not log.isEnabledFor(level):
            return
        fields: dict[str, Any] = {k: v for k, v in event.data.items() if k != "state"}
        text = " ".join(f"{k}={v!r}" for k, v in fields.items())
        log.log(
            level,
            "%s %s",
            event.kind.value,
            text,
            extra={"call_id": event.call_id, "event": event.kind.value, "fields": fields},
        )
