"""Where a call's recording lives: one segment per media stream, named by CallSid, start
time and instance, in a folder per UTC day.

    recordings/2026-11-30/CA…_20261130T101530123Z_web-1.wav    the stereo recording
    recordings/2026-11-30/CA…_20261130T101530123Z_web-1.json   its transcript

While a call is in progress both carry ``.partial`` before the extension; a server that dies
mid-call leaves them so, readable. A call that goes on on another instance gets a second
segment there; `export` stitches a call's segments in order of their start.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "PARTIAL",
    "Segment",
    "find_segments",
    "finished_path",
    "is_recording",
    "recording_files",
    "safe_sid",
    "segment_paths",
    "stamp_of",
]

PARTIAL = ".partial"
_UNSAFE = re.compile(r"[^A-Za-z0-9]")
_STAMP = "%Y%m%dT%H%M%S"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NAME = re.compile(
    r"^[A-Za-z0-9]{1,64}(?:-[0-9a-f]{12})?"  # safe_sid
    r"_\d{8}T\d{6}(?:\d{3})?Z"  # stamp_of (older names lack the milliseconds)
    r"_[A-Za-z0-9._-]{1,64}\.(?:wav|json)$"  # instance, then .partial or not
)


def safe_sid(call_sid: str) -> str:
    """The CallSid as it may appear in a file name (Twilio's are letters and digits; anything
    else is replaced, with a hash so different ids never share a name)."""
    cleaned = _UNSAFE.sub("", call_sid)[:64]
    if cleaned == call_sid and cleaned:
        return cleaned
    digest = hashlib.sha256(call_sid.encode()).hexdigest()[:12]
    return f"{cleaned[:40] or 'call'}-{digest}"


def stamp_of(started: datetime) -> str:
    """A sortable UTC time stamp with milliseconds: ``20261130T101530123Z``."""
    utc = started.astimezone(UTC)
    return f"{utc.strftime(_STAMP)}{utc.microsecond // 1000:03d}Z"


def segment_paths(
    root: Path, call_sid: str, started: datetime, instance: str, *, partial: bool
) -> tuple[Path, Path]:
    """The WAV and transcript paths of one segment."""
    day = root / started.astimezone(UTC).strftime("%Y-%m-%d")
    stem = f"{safe_sid(call_sid)}_{stamp_of(started)}_{instance}"
    suffix = PARTIAL if partial else ""
    return day / f"{stem}{suffix}.wav", day / f"{stem}{suffix}.json"


def finished_path(path: Path) -> Path:
    """The name a segment's file takes once finished: ``x.partial.wav`` → ``x.wav``."""
    return path.with_name(path.name.replace(PARTIAL + ".", ".", 1))


def is_recording(path: Path) -> bool:
    """Whether ``path`` is named as `segment_paths` names files, in a day folder: the sweep
    and the uploader, which delete files, must never touch anything else in the folder."""
    return bool(_NAME.match(path.name)) and bool(_DAY.match(path.parent.name))


def recording_files(root: Path) -> list[Path]:
    """Every recording file (partial or not) under ``root``, sorted."""
    return sorted(path for path in root.glob("*/*") if is_recording(path) and path.is_file())


@dataclass(frozen=True)
class Segment:
    """One stream's recording of a call, as found on disk."""

    started_at: datetime
    transcript: dict[str, Any] | None
    wav: Path | None
    partial: bool


def _started(stem: str) -> datetime | None:
    parts = stem.split("_")
    if len(parts) < 3:
        return None
    try:
        stamp = datetime.strptime(parts[1][:15], _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None
    return stamp.replace(microsecond=int(parts[1][15:18] or 0) * 1000)


def find_segments(root: Path, call_sid: str) -> list[Segment]:
    """Every segment of ``call_sid`` under ``root``, oldest first."""
    prefix = f"{safe_sid(call_sid)}_"
    stems: dict[Path, bool] = {}
    for path in root.glob(f"*/{prefix}*"):
        if path.suffix not in (".wav", ".json"):
            continue
        stem = path.with_suffix("")
        partial = stem.name.endswith(PARTIAL)
        base = stem.with_name(stem.name.removesuffix(PARTIAL))
        stems[base] = partial and stems.get(base, True)  # a finished file wins
    found = []
    for stem, partial in stems.items():
        started = _started(stem.name)
        if started is None:
            continue
        suffix = PARTIAL if partial else ""
        wav = stem.with_name(f"{stem.name}{suffix}.wav")
        json_path = stem.with_name(f"{stem.name}{suffix}.json")
        transcript = _load(json_path)
        if transcript is not None and transcript.get("call_sid") not in (None, call_sid):
            continue
        found.append(Segment(started, transcript, wav if wav.is_file() else None, partial))
    return sorted(found, key=lambda s: s.started_at)


def _load(path: Path) -> dict[str, Any] | None:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None
