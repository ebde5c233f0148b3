"""One call's recording and transcript from its segments: a call that went on on another
instance (or a second stream) has one segment per stream; they are joined in order of their
start, with the silence the caller heard between them (capped at ``MAX_GAP_S``). A segment
without audio (an instance that keeps transcripts only) is silence of its length in the WAV,
so every turn's ``at_s`` is where it is heard.

A segment a dead server left ``.partial`` is joined too: its WAV up to its last write, its
transcript up to its last turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telephonist.recording import wav
from telephonist.recording.segments import Segment, find_segments
from telephonist.recording.transcript import FORMAT

__all__ = ["MAX_GAP_S", "StitchedCall", "stitch"]

MAX_GAP_S = 300.0
BYTES_PER_SECOND = 8000 * 2 * 2  # stereo 16-bit 8 kHz
_TIME_KEYS = ("at_s",)


@dataclass(frozen=True)
class StitchedCall:
    """A whole call: its segments joined."""

    pcm: bytes
    """Interleaved stereo 16-bit 8 kHz samples (caller left, bot right)."""
    transcript: dict[str, Any]

    @property
    def seconds(self) -> float:
        """Length of the joined recording."""
        return len(self.pcm) / BYTES_PER_SECOND

    def write_wav(self, path: Path) -> None:
        """The joined recording as a WAV file."""
        wav.write(path, self.pcm)


def _duration(segment: Segment, pcm: bytes) -> float:
    if segment.wav is not None:
        return len(pcm) / BYTES_PER_SECOND
    if segment.transcript is not None:
        return float(segment.transcript.get("duration_s") or 0.0)
    return 0.0


def _shifted(items: list[Any], offset: float) -> list[Any]:
    """Turns (and the bot messages and interruptions inside them) moved by ``offset``."""
    out: list[Any] = []
    for item in items:
        if isinstance(item, dict):
            moved: dict[str, Any] = {}
            for key, value in item.items():
                if key in _TIME_KEYS and isinstance(value, int | float):
                    moved[key] = round(value + offset, 3)
                elif isinstance(value, list):
                    moved[key] = _shifted(value, offset)
                elif isinstance(value, dict):
                    moved[key] = _shifted([value], offset)[0]
                else:
                    moved[key] = value
            out.append(moved)
        else:
            out.append(item)
    return out


def stitch(roots: Sequence[Path], call_sid: str) -> StitchedCall | None:
    """The call's segments under ``roots`` (one shared folder, or each instance's own)
    joined, or None when there are none."""
    segments = sorted(
        (s for root in roots for s in find_segments(root, call_sid)), key=lambda s: s.started_at
    )
    if not segments:
        return None
    pcm = bytearray()
    turns: list[Any] = []
    paused: list[list[float | None]] = []
    parts: list[dict[str, Any]] = []
    first = segments[0].transcript or {}
    previous_end: float | None = None
    clock = 0.0  # seconds into the joined call
    audible = any(s.wav is not None for s in segments)
    for segment in segments:
        audio = wav.read_pcm(segment.wav) if segment.wav is not None else b""
        start = segment.started_at.timestamp()
        if previous_end is not None:
            clock += min(max(start - previous_end, 0.0), MAX_GAP_S)
        offset = clock
        if audible:  # silence for the gap and any segment without audio: turns stay in step
            pcm += bytes(max(0, round(offset * 8000) * 4 - len(pcm)))
        pcm += audio
        clock += _duration(segment, audio)
        previous_end = start + _duration(segment, audio)
        document = segment.transcript or {}
        turns += _shifted(list(document.get("turns") or []), offset)
        for span in document.get("paused") or []:
            paused.append([None if t is None else round(t + offset, 3) for t in span])
        parts.append(
            {
                "instance": document.get("instance"),
                "started_at": segment.started_at.isoformat(timespec="milliseconds"),
                "offset_s": round(offset, 3),
                "duration_s": round(_duration(segment, audio), 3),
                "complete": bool(document.get("complete")) and not segment.partial,
                "end_reason": document.get("end_reason"),
                "audio_lost_s": document.get("audio_lost_s"),
            }
        )
    transcript = {
        "format": FORMAT,
        "call_sid": call_sid,
        "from": first.get("from"),
        "to": first.get("to"),
        "direction": first.get("direction"),
        "duration_s": round(clock, 3),
        "segments": parts,
        "paused": paused,
        "turns": turns,
    }
    return StitchedCall(bytes(pcm), transcript)
