"""Call events to log lines: one per call start and end, one per turn with its latencies,
and warnings for errors. Never one per frame, never a secret (events carry none), never a
caller's answer to a sensitive question."""

from __future__ import annotations

import logging
from typing import Any

from telephonist.call.events import CallEvent, EventKind
from telephonist.recording.call_events import SensitiveCalls

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
    EventKind.TURN_DECIDED,
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
    """An `EventBus` subscriber that writes call events to the standard logging system.
    What a caller says or keys in answer to a sensitive question is logged as [sensitive]."""

    def __init__(self) -> None:
        self._sensitive = SensitiveCalls()

    def __call__(self, event: CallEvent) -> None:
        secret = self._sensitive.secret(event)
        if event.kind in _INFO:
            level = logging.INFO
        elif event.kind in _DEBUG:
            level = logging.DEBUG
        else:
            level = logging.WARNING
        if not log.isEnabledFor(level):
            return
        fields: dict[str, Any] = {k: v for k, v in event.fields_dict().items() if k != "state"}
        if secret:
            fields = self._sensitive.masked(fields)
        text = " ".join(f"{k}={v!r}" for k, v in fields.items())
        log.log(
            level,
            "%s %s",
            event.kind.value,
            text,
            extra={"call_id": event.call_id, "event": event.kind.value, "fields": fields},
        )
