"""The call events a recording needs, read in one place: which kinds matter and which keys
of their data (the rest of the recorder never looks at an event).

A turn whose question is sensitive (``sensitive`` on the assistant's turn) pauses the
recording until the assistant has taken the answer and moved on; that answer is never written
to the transcript.
"""

from __future__ import annotations

from telephonist.call.events import CallEvent, EventKind
from telephonist.recording.timeline import Timeline
from telephonist.recording.transcript import Transcript

__all__ = ["EventReader", "SensitiveAnswer", "end_reason"]

_TURN_KINDS = {
    "SessionStart": "call_start",
    "UserText": "caller",
    "Silence": "silence",
    "BargedIn": "barge_in",
}


def end_reason(event: CallEvent) -> str | None:
    """Why the call ended, if ``event`` says it did."""
    if event.kind is EventKind.CALL_ENDED:
        return str(event.data.get("reason", ""))
    return None


def _turn_kind(event: CallEvent) -> str:
    return _TURN_KINDS.get(str(event.data.get("event")), "internal")


class SensitiveAnswer:
    """Follows one call's sensitive questions: from the turn that asks one until the turn
    that takes the caller's answer and moves on (a barge-in or the session's own turn does
    neither; a repeat on silence asks it again)."""

    _INPUT = frozenset({EventKind.FINAL, EventKind.PARTIAL, EventKind.DTMF})

    def __init__(self) -> None:
        self.waiting = False
        """A sensitive question is open: the caller's input now is secret."""

    def secret(self, event: CallEvent) -> bool:
        """Does ``event`` carry the caller's secret input? (Call with every event in order.)"""
        if event.kind is not EventKind.TURN:
            return self.waiting and event.kind in self._INPUT
        kind = _turn_kind(event)
        carries = self.waiting and kind == "caller"
        if kind not in ("barge_in", "internal"):
            self.waiting = bool(event.data.get("sensitive"))
        return carries


class EventReader:
    """Applies one call's events to its transcript and timeline."""

    def __init__(self, transcript: Transcript | None, timeline: Timeline) -> None:
        self._transcript = transcript
        self._timeline = timeline
        self._sensitive = SensitiveAnswer()

    def read(self, event: CallEvent) -> bool:
        """Apply ``event``; True when the transcript changed enough to save."""
        data, at = event.data, self._timeline.position
        if event.kind is EventKind.TURN:
            self._turn(event)
            return True
        transcript = self._transcript
        if transcript is None:
            return False
        if event.kind is EventKind.CALL_STARTED:
            transcript.started(
                str(data.get("user_phone", "")),
                str(data.get("bot_phone", "")),
                str(data.get("direction", "")),
            )
        elif event.kind is EventKind.BOT_MESSAGE:
            transcript.bot_message(at, int(data.get("message_id", 0)), str(data.get("text", "")))
        elif event.kind is EventKind.BARGE_IN:
            transcript.interrupted(
                at,
                trigger=str(data.get("trigger", "")),
                heard=str(data.get("heard", "")),
                full=str(data.get("full", "")),
                reaction_ms=data.get("onset_to_clear_ms"),
            )
        elif event.kind is EventKind.TRANSFER:
            transcript.transferred_to = str(data.get("to", ""))
        elif event.kind is EventKind.LATENCY:
            transcript.latency({k: v for k, v in data.items() if isinstance(v, int | float)})
        return False

    def _turn(self, event: CallEvent) -> None:
        data, at = event.data, self._timeline.position
        secret = self._sensitive.secret(event)
        if self._transcript is not None:
            self._transcript.turn(
                at,
                kind=_turn_kind(event),
                text=data.get("text"),
                source=data.get("source"),
                confidence=data.get("confidence"),
                secret=secret,
                assistant_ms=data.get("assistant_ms"),
                hang_up=bool(data.get("hang_up")),
            )
        if self._sensitive.waiting and not self._timeline.paused:
            self._timeline.pause()
            if self._transcript is not None:
                self._transcript.pause(at)
        elif not self._sensitive.waiting and self._timeline.paused:
            self._timeline.resume()
            if self._transcript is not None:
                self._transcript.resume(at)
