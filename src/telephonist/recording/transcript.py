"""A call's transcript: each turn with what the caller said or keyed, how sure the ASR was,
what the bot answered, what the caller heard of it before interrupting, and the latency
split. Times are seconds into the segment's WAV, so a turn can be found in the recording.

Keys pressed are masked (``*`` per key) unless the operator turns that off, and whatever the
caller said or keyed in answer to a sensitive question is never written at all. Pure data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["REDACTED", "LatencySplit", "Transcript"]

REDACTED = "[sensitive]"
FORMAT = 1
KEEP_MESSAGES = 16
"""Recent bot messages an interruption may refer to."""


def _seconds(position: int) -> float:
    return round(position / 8000, 3)


@dataclass(frozen=True, slots=True, kw_only=True)
class LatencySplit:
    """Where a caller's wait went, in milliseconds: from the end of their speech and from
    the ASR's final result to the bot's first audio, the assistant's share (of it the
    model's, None when no model was asked) and the voice's first byte."""

    speech_end_to_audio: float
    final_to_audio: float
    assistant: float
    tts_first_byte: float
    llm: float | None = None

    def as_dict(self) -> dict[str, float]:
        """The transcript's ``latency_ms``, with the ASR's share (speech end to final)."""
        split = {
            "speech_end_to_audio": self.speech_end_to_audio,
            "final_to_audio": self.final_to_audio,
            "assistant": self.assistant,
            "tts_first_byte": self.tts_first_byte,
        }
        if self.llm is not None:
            split["llm"] = self.llm
        split["asr"] = round(self.speech_end_to_audio - self.final_to_audio, 2)
        return split


@dataclass
class Transcript:
    """What happened in one segment of a call (one stream on one instance)."""

    call_sid: str
    instance: str
    started_at: str
    """UTC, ISO 8601, when this segment's recording began."""
    wav: str | None
    """The segment's WAV file name, beside the transcript (None: audio not kept)."""
    mask_dtmf: bool = True
    caller_phone: str = ""
    bot_phone: str = ""
    direction: str = ""
    turns: list[dict[str, Any]] = field(default_factory=list)
    paused: list[list[float | None]] = field(default_factory=list)
    ended_at: str | None = None
    end_reason: str | None = None
    transferred_to: str | None = None
    duration_s: float = 0.0
    _messages: dict[int, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)
    """The latest bot messages by id, for the interruption that may cut them."""

    def started(self, user_phone: str, bot_phone: str, direction: str) -> None:
        """The call's parties, from the stream's parameters."""
        self.caller_phone, self.bot_phone, self.direction = user_phone, bot_phone, direction

    def turn(
        self,
        position: int,
        *,
        kind: str,
        text: str | None,
        source: str | None,
        confidence: float | None,
        secret: bool,
        assistant_ms: float | None,
        hang_up: bool,
    ) -> None:
        """The assistant answered an event (``kind``: call_start, resumed, caller, silence,
        barge_in, internal); ``secret``: the caller's input answered a sensitive question."""
        caller: dict[str, Any] | None = None
        if kind == "caller":
            shown, masked = text or "", False
            if secret:
                shown, masked = REDACTED, True
            elif source == "dtmf" and self.mask_dtmf:
                shown, masked = "*" * len(shown), True
            caller = {"text": shown, "source": source, "confidence": confidence}
            if masked:
                caller["masked"] = True
        self.turns.append(
            {
                "at_s": _seconds(position),
                "event": kind,
                "caller": caller,
                "bot": [],
                "assistant_ms": assistant_ms,
                "latency_ms": None,
                "hang_up": hang_up,
            }
        )

    def bot_message(self, position: int, message_id: int, text: str) -> None:
        """A bot message began (its audio goes out next)."""
        entry: dict[str, Any] = {"at_s": _seconds(position), "text": text, "interrupted": None}
        if not self.turns:
            self.turn(
                position,
                kind="internal",
                text=None,
                source=None,
                confidence=None,
                secret=False,
                assistant_ms=None,
                hang_up=False,
            )
        self.turns[-1]["bot"].append(entry)
        self._messages[message_id] = entry
        while len(self._messages) > KEEP_MESSAGES:
            del self._messages[next(iter(self._messages))]

    def interrupted(
        self, position: int, *, trigger: str, heard: str, full: str, reaction_ms: float | None
    ) -> None:
        """The caller barged in over ``full``, having heard ``heard`` of it; the messages queued
        after it were cleared unheard."""
        record: dict[str, Any] = {"at_s": _seconds(position), "trigger": trigger, "heard": heard}
        if reaction_ms is not None:
            record["onset_to_clear_ms"] = reaction_ms
        recent = list(self._messages.values())
        cut = next(
            (
                i
                for i in range(len(recent) - 1, -1, -1)
                if recent[i]["text"] == full and recent[i]["interrupted"] is None
            ),
            None,
        )
        if cut is None:
            if self.turns and full:
                self.turns[-1]["bot"].append(
                    {"at_s": record["at_s"], "text": full, "interrupted": record}
                )
            return
        recent[cut]["interrupted"] = record
        for unheard in recent[cut + 1 :]:
            if unheard["interrupted"] is None:
                unheard["interrupted"] = {**record, "heard": ""}

    def latency(self, split: LatencySplit) -> None:
        """The latency split of the latest caller turn (end of speech → first bot audio)."""
        for turn in reversed(self.turns):
            if turn["event"] == "caller":
                turn["latency_ms"] = split.as_dict()
                return

    def pause(self, position: int) -> None:
        """Recording paused (a sensitive question)."""
        self.paused.append([_seconds(position), None])

    def resume(self, position: int) -> None:
        """Recording resumed."""
        if self.paused and self.paused[-1][1] is None:
            self.paused[-1][1] = _seconds(position)

    def ended(self, position: int, ended_at: str, reason: str | None) -> None:
        """The segment is over."""
        self.duration_s = _seconds(position)
        self.ended_at = ended_at
        self.end_reason = reason
        self.resume(position)

    def as_dict(self) -> dict[str, Any]:
        """The JSON document."""
        return {
            "format": FORMAT,
            "call_sid": self.call_sid,
            "instance": self.instance,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "complete": self.ended_at is not None,
            "end_reason": self.end_reason,
            "transferred_to": self.transferred_to,
            "duration_s": self.duration_s,
            "from": self.caller_phone,
            "to": self.bot_phone,
            "direction": self.direction,
            "wav": self.wav,
            "paused": self.paused,
            "turns": self.turns,
        }

    def dumps(self, *, compact: bool = False) -> str:
        """The JSON text: indented for people, or ``compact`` (several times faster) for the
        snapshots taken during the call."""
        return json.dumps(self.as_dict(), indent=None if compact else 1, ensure_ascii=False)
