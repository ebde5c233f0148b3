"""What a simulated call produced: the transcript, a per-turn latency table, and JSON."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from telephonist.simulator.phone import BotUtterance, Turn

__all__ = ["CallReport", "percentiles"]


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """n, p50, p95, p99, max and mean of ``values`` (nearest rank); empty when there are none."""
    if not values:
        return {}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 1)

    return {
        "n": len(ordered),
        "p50": rank(0.50),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "max": round(ordered[-1], 1),
        "mean": round(sum(ordered) / len(ordered), 1),
    }


@dataclass
class CallReport:
    """The outcome of one simulated call."""

    webhook_url: str
    call_sid: str
    ok: bool
    outcome: str
    """``caller hung up``, ``bot hung up`` or what failed."""
    duration_s: float = 0.0
    turns: list[Turn] = field(default_factory=list)
    utterances: list[BotUtterance] = field(default_factory=list)
    bot_text_source: str = "none"
    """Where bot text comes from: ``local ASR of the bot audio`` or ``none``."""
    recording: str | None = None
    late_frames: int = 0
    resume_gaps_ms: list[float] = field(default_factory=list)
    """For each new stream after a lost one: the silence the caller heard (stream lost →
    first bot audio on the new stream)."""

    def bot_text(self, turn: Turn) -> str:
        """What the bot said in answer to ``turn`` (its utterances' text, or their length)."""
        parts = []
        for utterance in self.utterances:
            if utterance.turn != turn.index:
                continue
            text = (
                utterance.text
                if utterance.text is not None
                else f"[{utterance.heard_ms / 1000:.1f} s of audio]"
            )
            parts.append(text + (" [cut off]" if utterance.cleared else ""))
        return " / ".join(parts)

    def latencies_ms(self) -> list[float]:
        """Turn latencies of the caller's turns, from their last voiced frame (the greeting
        is not a turn)."""
        return [
            t.latency_from_speech_end_ms
            for t in self.turns[1:]
            if t.latency_from_speech_end_ms is not None
        ]

    def table(self) -> str:
        """The per-turn latency table, as text."""
        rows = [("#", "caller", "latency ms", "barge-in ms", "bot")]
        for turn in self.turns:
            latency = _fmt(turn.latency_from_speech_end_ms)
            rows.append(
                (
                    str(turn.index),
                    _clip(turn.caller, 36),
                    "cut in" if turn.bot_cut_in_at is not None else latency,
                    _fmt(turn.barge_in_ms),
                    _clip(self.bot_text(turn), 60),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  "
            + row[4]
            for row in rows
        ]
        summary = percentiles(self.latencies_ms())
        if summary:
            lines.append(
                f"turn latency: p50 {summary['p50']} ms, p95 {summary['p95']} ms, "
                f"max {summary['max']} ms over {summary['n']} turns "
                "(the caller's last voiced frame → first bot speech heard)"
            )
        if self.resume_gaps_ms:
            gaps = ", ".join(f"{gap:.0f} ms" for gap in self.resume_gaps_ms)
            lines.append(f"resumed after a lost stream: gap {gaps} (stream lost → bot audio)")
        cut_in = [t.index for t in self.turns[1:] if t.bot_cut_in_at is not None]
        if cut_in:
            lines.append(f"the bot spoke before the caller had finished in turn(s) {cut_in}")
        answer = self.turns[0].latency_from_speech_end_ms if self.turns else None
        if answer is not None:
            lines.append(f"answer: first bot speech {answer} ms after the stream opened")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (``--json``)."""
        return {
            "webhook_url": self.webhook_url,
            "call_sid": self.call_sid,
            "ok": self.ok,
            "outcome": self.outcome,
            "duration_s": round(self.duration_s, 2),
            "bot_text_source": self.bot_text_source,
            "recording": self.recording,
            "late_frames": self.late_frames,
            "resume_gaps_ms": self.resume_gaps_ms,
            "turns": [
                {
                    "index": t.index,
                    "caller": t.caller,
                    "started_at": _round(t.started_at),
                    "ended_at": _round(t.ended_at),
                    "speech_ended_at": _round(t.speech_ended_at),
                    "first_bot_audio_at": _round(t.first_audio_at),
                    "bot_cut_in_at": _round(t.bot_cut_in_at),
                    "latency_from_speech_end_ms": t.latency_from_speech_end_ms,
                    "barge_in_ms": t.barge_in_ms,
                    "bot": self.bot_text(t),
                }
                for t in self.turns
            ],
            "bot_utterances": [
                {
                    "turn": u.turn,
                    "started_at": _round(u.started_at),
                    "ended_at": _round(u.ended_at),
                    "heard_ms": u.heard_ms,
                    "cleared": u.cleared,
                    "text": u.text,
                }
                for u in self.utterances
            ],
            "latency_from_speech_end_ms": percentiles(self.latencies_ms()),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
