"""The call events a recording needs, read in one place: which kinds matter and which of
their fields (the rest of the recorder never looks at an event).

A turn whose question is sensitive (``sensitive`` on the assistant's turn) pauses the
recording until the assistant has taken the answer and moved on; that answer is never written
to the transcript.
"""

from __future__ import annotations

from telephonist.call.events import (
    AsrFinal,
    AsrPartial,
    BargeIn,
    BotMessageStarted,
    CallEnded,
    CallEvent,
    CallStarted,
    KeyPressed,
    Transferred,
    TurnLatency,
    TurnTaken,
)
from telephonist.recording.timeline import Timeline
from telephonist.recording.transcript import REDACTED, LatencySplit, Transcript

__all__ = ["EventReader", "SensitiveAnswer", "SensitiveCalls", "end_reason"]

_TURN_KINDS = {
    "SessionStart": "call_start",
    "SessionResumed": "resumed",
    "UserText": "caller",
    "Silence": "silence",
    "BargedIn": "barge_in",
}


def end_reason(event: CallEvent) -> str | None:
    """Why the call ended, if ``event`` says it did."""
    if isinstance(event, CallEnded):
        return event.reason
    return None


def _turn_kind(event: TurnTaken) -> str:
    return _TURN_KINDS.get(event.event, "internal")


class SensitiveAnswer:
    """Follows one call's sensitive questions: from the turn that asks one (whatever its
    event: a resumed call asks its question again) until the turn that takes the caller's
    answer and moves on (a barge-in or an internal turn closes none; a repeat on silence asks
    it again)."""

    _INPUT = (AsrFinal, AsrPartial, KeyPressed)

    def __init__(self) -> None:
        self.waiting = False
        """A sensitive question is open: the caller's input now is secret."""

    def secret(self, event: CallEvent) -> bool:
        """Does ``event`` carry the caller's secret input? (Call with every event in order.)"""
        if not isinstance(event, TurnTaken):
            return self.waiting and isinstance(event, self._INPUT)
        kind = _turn_kind(event)
        carries = self.waiting and kind == "caller"
        if kind not in ("barge_in", "internal"):
            self.waiting = event.sensitive
        elif event.sensitive:  # whatever led to it, a sensitive question is open now
            self.waiting = True
        return carries


class SensitiveCalls:
    """`SensitiveAnswer` for every call of a process, for readers that see all calls' events
    (the log, the inspector); state is kept only while a call has a sensitive question open.

    A call resumed on this process has two streams for a moment: the lost one's end may come
    after the new one asked its question again, and must not close that question."""

    _FIELDS = ("text", "digit")

    def __init__(self) -> None:
        self._open: dict[str, SensitiveAnswer] = {}
        self._newest: dict[str, int] = {}
        """Calls resumed here whose newest stream has not ended: that stream's number."""

    def secret(self, event: CallEvent) -> bool:
        """Does ``event`` carry a caller's answer to a sensitive question? (Every event, in
        order.)"""
        call_id = event.call_id
        if isinstance(event, CallStarted) and event.stream:
            self._newest[call_id] = event.stream
        elif isinstance(event, CallEnded):
            if (event.stream or 0) < self._newest.get(call_id, 0):
                return False  # an earlier stream's end: the call goes on
            self._newest.pop(call_id, None)
        answer = self._open.pop(call_id, None) or SensitiveAnswer()
        secret = answer.secret(event)
        if answer.waiting and end_reason(event) is None:
            self._open[call_id] = answer
        return secret

    def masked(self, fields: dict[str, object]) -> dict[str, object]:
        """``fields`` with the caller's words and keys replaced by ``[sensitive]``."""
        return {k: REDACTED if k in self._FIELDS else v for k, v in fields.items()}


class EventReader:
    """Applies one call's events to its transcript and timeline."""

    def __init__(self, transcript: Transcript | None, timeline: Timeline) -> None:
        self._transcript = transcript
        self._timeline = timeline
        self._sensitive = SensitiveAnswer()

    def read(self, event: CallEvent) -> bool:
        """Apply ``event``; True when the transcript changed enough to save."""
        at = self._timeline.position
        if isinstance(event, TurnTaken):
            self._turn(event)
            return True
        transcript = self._transcript
        if transcript is None:
            return False
        match event:
            case CallStarted():
                transcript.started(
                    event.user_phone or "", event.bot_phone or "", event.direction or ""
                )
            case BotMessageStarted():
                transcript.bot_message(at, event.message_id, event.text)
            case BargeIn():
                transcript.interrupted(
                    at,
                    trigger=event.trigger,
                    heard=event.heard,
                    full=event.full,
                    reaction_ms=event.onset_to_clear_ms,
                )
            case Transferred():
                transcript.transferred_to = event.to
            case TurnLatency():
                transcript.latency(
                    LatencySplit(
                        speech_end_to_audio=event.speech_end_to_audio_ms,
                        final_to_audio=event.final_to_audio_ms,
                        assistant=event.assistant_ms,
                        tts_first_byte=event.tts_first_byte_ms,
                        llm=event.llm_ms,
                    )
                )
        return False

    def _turn(self, event: TurnTaken) -> None:
        at = self._timeline.position
        secret = self._sensitive.secret(event)
        if self._transcript is not None:
            self._transcript.turn(
                at,
                kind=_turn_kind(event),
                text=event.text,
                source=event.source,
                confidence=event.confidence,
                secret=secret,
                assistant_ms=event.assistant_ms,
                hang_up=event.hang_up,
            )
        if self._sensitive.waiting and not self._timeline.paused:
            self._timeline.pause()
            if self._transcript is not None:
                self._transcript.pause(at)
        elif not self._sensitive.waiting and self._timeline.paused:
            self._timeline.resume()
            if self._transcript is not None:
                self._transcript.resume(at)
