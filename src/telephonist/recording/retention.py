"""Keeping the recordings folder within the operator's limits: files older than the retention
period are deleted, and when the folder outgrows its cap the oldest finished calls go first.

A segment still being written by this server is never deleted. One that another server is
writing (``.partial``, changed within the last hour) is left alone too; a ``.partial`` left
untouched longer is a dead server's: the sweep gives it its final names (a finished file of the
same name wins) and reports it, so it is uploaded and kept as the finished segment it is (its
transcript says ``complete: false``). A finished segment whose
files still await upload to the bucket is never deleted either: the folder may then stay over
its cap until the bucket is back. Only files named as recordings, in day folders, are looked
at: whatever else shares the folder is not ours to delete.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from telephonist.recording.segments import PARTIAL, finished_path, recording_files
from telephonist.recording.upload import marker

__all__ = ["Sweep", "sweep"]

log = logging.getLogger(__name__)

LIVE_ELSEWHERE_S = 3600.0
"""A ``.partial`` file changed this recently may be another server's call in progress."""


@dataclass
class _Group:
    """The files of one segment (its WAV and transcript, partial or not)."""

    paths: list[Path] = field(default_factory=list)
    size: int = 0
    newest: float = 0.0
    partial: bool = False


@dataclass(frozen=True)
class Sweep:
    """What a sweep found and did."""

    total_bytes: int
    deleted: tuple[Path, ...]
    waiting: tuple[Path, ...] = ()
    """Finished files kept because they are not uploaded yet."""
    held_bytes: int = 0
    """What those files take up."""
    settled: tuple[Path, ...] = ()
    """A dead server's files, given their final names by this sweep."""


def _groups(root: Path) -> dict[str, _Group]:
    groups: dict[str, _Group] = {}
    for path in recording_files(root):
        try:
            stat = path.stat()
        except OSError:
            continue  # deleted meanwhile (another server's sweep)
        stem = path.with_suffix("").name
        group = groups.setdefault(str(path.parent / stem.removesuffix(PARTIAL)), _Group())
        group.paths.append(path)
        group.size += stat.st_size
        group.newest = max(group.newest, stat.st_mtime)
        group.partial = group.partial or stem.endswith(PARTIAL)
    return groups


def _settle(group: _Group) -> list[Path]:
    """Give a dead server's segment its final names; returns the files renamed."""
    renamed: list[Path] = []
    paths: list[Path] = []
    for path in group.paths:
        final = finished_path(path)
        if final == path:
            paths.append(path)
            continue
        try:
            if final.exists():  # finished before the server died: the finished file wins
                path.unlink()
            else:
                os.replace(path, final)
                renamed.append(final)
                paths.append(final)
        except FileNotFoundError:  # another server's sweep took it first
            continue
    group.paths, group.partial = paths, False
    return renamed


def sweep(
    root: Path,
    *,
    now: float,
    retention_s: float | None,
    max_bytes: int | None,
    low_water: float = 1.0,
    need: int = 0,
    active: Collection[Path] = (),
    waiting: Callable[[Path], bool] | None = None,
) -> Sweep:
    """Delete what the limits say must go: expired segments, and when the folder (plus
    ``need`` bytes about to be written) is over ``max_bytes``, the oldest until it is within
    ``low_water`` of it (so the next sweep is not due at once). ``active`` are the files this
    server is writing; a segment with a file for which ``waiting`` says True (not uploaded
    yet) is kept. A dead server's segment is settled first (`_settle`)."""
    if not root.is_dir():
        return Sweep(0, ())
    keep = {str(p) for p in active}
    groups = _groups(root)
    settled: list[Path] = []
    for group in groups.values():
        stale = group.partial and now - group.newest >= LIVE_ELSEWHERE_S
        if stale and not any(str(p) in keep for p in group.paths):
            settled += _settle(group)
    fresh = set(settled)  # for the bucket too, once its uploader has them
    if settled:
        log.info("recording.settled: %d file(s) of a server gone for an hour", len(settled))
    deletable = []
    held: list[Path] = []
    held_bytes = 0
    for key, group in groups.items():
        if any(str(p) in keep for p in group.paths):
            continue
        if group.partial and now - group.newest < LIVE_ELSEWHERE_S:
            continue
        unsent = [p for p in group.paths if waiting is not None and (p in fresh or waiting(p))]
        if unsent:
            held += unsent
            held_bytes += group.size
            continue
        deletable.append((group.newest, key))
    deletable.sort()
    total = sum(g.size for g in groups.values())
    over = max_bytes is not None and total + need > max_bytes
    target = 0 if max_bytes is None else int(max_bytes * low_water) - need
    deleted: list[Path] = []
    for newest, key in deletable:
        expired = retention_s is not None and now - newest > retention_s
        if not expired and not (over and total > target):
            continue
        group = groups[key]
        for path in group.paths:
            for gone in (path, marker(path)):  # a marker left from when a bucket was set
                try:
                    gone.unlink()
                except FileNotFoundError:
                    pass
            deleted.append(path)
        total -= group.size
    for day in {p.parent for p in deleted}:
        try:
            day.rmdir()  # only if empty
        except OSError:
            pass
    if deleted:
        log.info("recording.swept: %d file(s) deleted, %d bytes kept", len(deleted), total)
    return Sweep(total, tuple(deleted), tuple(sorted(held)), held_bytes, tuple(settled))
