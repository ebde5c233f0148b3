"""Writing every recorded call's files on one thread, so no disk write runs on the event loop.

The loop only queues work (`audio`, `transcript`, `finish`). Audio waiting in the queue
(both tracks) is capped at ``MAX_BACKLOG_BYTES``: past that (a disk that cannot keep up) audio
is dropped and counted, never the loop held up; of a call's transcript only the newest
snapshot waits, so a stalled disk cannot fill memory. The thread also enforces retention and
the size cap: it keeps a running total of the folder, measured again after every
``RESCAN_SHARE`` of the cap it writes (other instances may share the folder), sweeps when the
total passes the cap (down to 90 % of it) and every ``SWEEP_EVERY_S``, and drops audio while
the folder is full of calls still in progress or of files still to upload (which it then hands
to the uploader again). A call's final transcript says how much of its audio was lost and
why. A job that fails costs that job's data, never the thread: later calls are still recorded.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import queue
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from telephonist.config.recording import RecordingSettings
from telephonist.errors import ConfigError
from telephonist.recording import wav
from telephonist.recording.retention import sweep
from telephonist.recording.segments import finished_path
from telephonist.recording.upload import awaiting_upload

__all__ = ["MAX_BACKLOG_BYTES", "SegmentWriter"]

log = logging.getLogger(__name__)

MAX_BACKLOG_BYTES = 16 * 1024 * 1024
"""Mu-law audio queued and not yet written, both tracks (about 17 minutes of call audio)."""
SWEEP_EVERY_S = 600.0
FULL_RETRY_S = 30.0
"""While the folder is full of calls in progress, audio is dropped; a sweep retries after this."""
LOW_WATER = 0.9
RESCAN_SHARE = 0.05
"""After writing this share of the cap the folder is measured again: instances sharing it
write too, so each one's own count alone would let the folder grow to a multiple of the cap."""


@dataclass
class _Segment:
    """Writer-side state of one segment."""

    wav: Path | None
    transcript: Path | None
    wav_started: bool = False
    transcript_bytes: int = 0
    lost: dict[str, int] = field(default_factory=dict)
    """Mu-law bytes of audio not written, by reason."""
    behind: int = 0
    """Of those lost to a slow disk or a failed write, the ones since the last write: silence
    before the next one keeps the WAV in step with the call (and the transcript's times).
    Audio lost to the size cap is not made up: silence would take the room it lacked."""


@dataclass(frozen=True)
class _Job:
    key: str
    kind: str  # open | audio | transcript | finish
    caller: bytes = b""
    bot: bytes = b""
    text: str | None = None
    dropped: int = 0
    bot_dropped: int = 0
    gap: int = 0
    """Caller bytes dropped from the backlog just before this stretch."""
    paths: tuple[Path | None, Path | None] = (None, None)
    done: threading.Event | None = None


class SegmentWriter:
    """The recordings folder's only writer in this process."""

    def __init__(
        self,
        settings: RecordingSettings,
        *,
        wall: Callable[[], float] = time.time,
        on_final: Callable[[Path], None] | None = None,
    ) -> None:
        self._settings = settings
        self._wall = wall
        self._on_final = on_final
        """Told of each file once it has its final name (the bucket upload)."""
        bucket = settings.s3 if on_final is not None else None
        self._waiting = (
            None if bucket is None else functools.partial(awaiting_upload, settings=bucket)
        )
        """Which finished files the sweep must keep (not in the bucket yet)."""
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._snapshots: dict[str, str] = {}
        """Each call's newest transcript not written yet (only the newest matters)."""
        self._snapshots_lock = threading.Lock()
        self._submitted = 0  # written by the loop only
        self._written = 0  # written by the thread only
        self._gaps: dict[str, int] = {}  # loop side: audio dropped since the last stretch queued
        self._segments: dict[str, _Segment] = {}  # thread side from here on
        self._total = 0
        self._unmeasured = 0
        """Bytes written since the folder was last measured."""
        self._full_until = 0.0
        self._blocked = False
        """The last sweep could not meet the cap for files still to upload (warned once)."""
        cap = settings.max_size_mb
        self._cap = None if cap is None else int(cap * 1024 * 1024)
        _check_writable(settings.folder)
        self._thread = threading.Thread(target=self._run, name="recording-writer", daemon=True)
        self._thread.start()

    # -- the loop's side: queue and return ----------------------------------------------------

    def open(self, key: str, wav_path: Path | None, transcript_path: Path | None) -> None:
        """A segment begins."""
        self._jobs.put(_Job(key, "open", paths=(wav_path, transcript_path)))

    def audio(self, key: str, caller: bytes, bot: bytes) -> None:
        """Both tracks' next stretch (mu-law, equal lengths)."""
        size = len(caller) + len(bot)  # the queue holds both
        if self._submitted - self._written + size > MAX_BACKLOG_BYTES:
            self._gaps[key] = self._gaps.get(key, 0) + len(caller)
            return
        self._submitted += size
        gap = self._gaps.pop(key, 0) if self._gaps else 0
        self._jobs.put(_Job(key, "audio", caller, bot, gap=gap))

    def transcript(self, key: str, text: str) -> None:
        """The transcript so far (replaces the previous one, written or still waiting)."""
        with self._snapshots_lock:
            waiting = key in self._snapshots
            self._snapshots[key] = text
        if not waiting:
            self._jobs.put(_Job(key, "transcript"))

    def finish(self, key: str, text: str | None, bot_dropped: int = 0) -> None:
        """The segment is over: its final transcript, then its files take their final names.
        ``bot_dropped``: bot audio the tap could not place (sent too far ahead)."""
        dropped = self._gaps.pop(key, 0)  # at the end: nothing follows to keep in step
        self._jobs.put(_Job(key, "finish", text=text, dropped=dropped, bot_dropped=bot_dropped))

    def barrier(self) -> threading.Event:
        """An event set once everything queued before it is written."""
        done = threading.Event()
        self._jobs.put(_Job("", "barrier", done=done))
        return done

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the thread."""
        self._jobs.put(None)
        self._thread.join(timeout)

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        self._sweep(requeue=True)
        next_sweep = self._wall() + SWEEP_EVERY_S
        while True:
            try:
                job = self._jobs.get(timeout=SWEEP_EVERY_S)
            except queue.Empty:
                job = _Job("", "tick")
            if job is None:
                return
            try:
                self._do(job)
            except Exception as exc:  # anything: the thread must live on for later calls
                self._failed(job, exc)
            if self._wall() >= next_sweep:
                self._sweep(requeue=True)
                next_sweep = self._wall() + SWEEP_EVERY_S

    def _failed(self, job: _Job, exc: Exception) -> None:
        """Log once per segment and reason (no call content: a message may quote it), count
        the audio lost, and forget a segment whose end failed."""
        reason = "disk_error" if isinstance(exc, OSError) else "write_error"
        segment = self._segments.get(job.key)
        if segment is None or not segment.lost.get(reason):
            detail = exc if isinstance(exc, OSError) else type(exc).__name__
            log.error(
                "recording.write_failed: %s (%s)", detail, job.kind, extra={"call_id": job.key}
            )
        if segment is not None and job.kind == "audio":
            segment.lost[reason] = segment.lost.get(reason, 0) + len(job.caller)
            segment.behind += job.gap + len(job.caller)
        if job.kind == "finish":
            self._segments.pop(job.key, None)

    def _do(self, job: _Job) -> None:
        if job.done is not None:
            job.done.set()
            return
        if job.kind == "open":
            self._segments[job.key] = _Segment(*job.paths)
            return
        text = job.text
        if job.kind == "audio":  # off the backlog whatever becomes of it
            self._written += len(job.caller) + len(job.bot)
        elif job.kind == "transcript":
            with self._snapshots_lock:
                text = self._snapshots.pop(job.key, None)
        segment = self._segments.get(job.key)
        if segment is None:
            return
        if job.kind == "audio":
            if job.gap:
                segment.lost["backlog"] = segment.lost.get("backlog", 0) + job.gap
            self._audio(segment, job.caller, job.bot, job.gap)
        elif job.kind == "transcript" and text is not None:
            self._write_transcript(segment, text)
        elif job.kind == "finish":
            if job.dropped:
                segment.lost["backlog"] = segment.lost.get("backlog", 0) + job.dropped
            if job.bot_dropped:
                segment.lost["bot_ahead"] = job.bot_dropped
            try:
                self._finish(segment, text)
            finally:
                del self._segments[job.key]

    def _audio(self, segment: _Segment, caller: bytes, bot: bytes, gap: int) -> None:
        if segment.wav is None:
            return
        behind = segment.behind + gap  # lost just before: silence, so the WAV keeps time
        pcm = bytes(behind * wav.CHANNELS * wav.SAMPLE_BYTES) + wav.stereo_pcm(caller, bot)
        if self._cap is not None and self._unmeasured >= self._cap * RESCAN_SHARE:
            self._sweep()
        if self._cap is not None and self._total + len(pcm) > self._cap:
            if self._wall() >= self._full_until:
                self._sweep(need=len(pcm))
            if self._total + len(pcm) > self._cap:
                self._full_until = self._wall() + FULL_RETRY_S
                segment.lost["size_cap"] = segment.lost.get("size_cap", 0) + len(caller)
                segment.behind = behind  # not this stretch: silence would take the room
                return
        if not segment.wav_started:
            segment.wav.parent.mkdir(parents=True, exist_ok=True)
            wav.create(segment.wav)
            segment.wav_started = True
            self._total += wav.HEADER_BYTES
        wav.append(segment.wav, pcm)
        segment.behind = 0
        self._total += len(pcm)
        self._unmeasured += len(pcm)

    def _write_transcript(self, segment: _Segment, text: str, path: Path | None = None) -> None:
        target = path or segment.transcript
        if target is None:
            return
        if path is not None or not segment.transcript_bytes:
            target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(target.name + ".tmp")
        # A lone surrogate (half an emoji from a bot's text) can only sit in a JSON string,
        # where backslashreplace writes it as the \uXXXX escape JSON reads back.
        data = text.encode("utf-8", "backslashreplace")
        temporary.write_bytes(data)
        os.replace(temporary, target)
        size = len(data)
        self._total += size - segment.transcript_bytes
        segment.transcript_bytes = size

    def _finish(self, segment: _Segment, text: str | None) -> None:
        final_wav = finished_path(segment.wav) if segment.wav is not None else None
        if segment.wav is not None and segment.wav_started and final_wav is not None:
            os.replace(segment.wav, final_wav)
            self._final(final_wav)
        if text is not None and segment.transcript is not None:
            document = json.loads(text)
            if segment.wav is None or not segment.wav_started:
                document["wav"] = None
            if segment.lost:
                document["audio_lost_s"] = {k: round(v / 8000, 3) for k, v in segment.lost.items()}
            final_transcript = finished_path(segment.transcript)
            self._write_transcript(
                segment, json.dumps(document, indent=1, ensure_ascii=False), final_transcript
            )
            segment.transcript.unlink(missing_ok=True)
            self._final(final_transcript)

    def _final(self, path: Path) -> None:
        if self._on_final is not None:
            self._on_final(path)

    def _sweep(self, need: int = 0, *, requeue: bool = False) -> None:
        """Apply retention and the cap; with ``requeue``, hand the files still to upload to
        the uploader again (its retries end; an outage may not)."""
        settings = self._settings
        retention = settings.retention_days
        self._unmeasured = 0
        active = [p for s in self._segments.values() for p in (s.wav, s.transcript) if p]
        try:
            result = sweep(
                settings.folder,
                now=self._wall(),
                retention_s=None if retention is None else retention * 86400,
                max_bytes=self._cap,
                low_water=LOW_WATER,
                need=need,
                active=active,
                waiting=self._waiting,
            )
        except Exception as exc:
            detail = exc if isinstance(exc, OSError) else type(exc).__name__
            log.error("recording.sweep_failed: %s", detail)
            return
        self._total = result.total_bytes
        over = self._cap is not None and result.total_bytes + need > self._cap
        blocked = over and bool(result.held_bytes)
        if blocked and not self._blocked:
            log.warning(
                "recording.cap_blocked: %d file(s) (%d bytes) not uploaded yet keep the folder "
                "over max_size_mb; audio is dropped until the bucket takes them",
                len(result.waiting),
                result.held_bytes,
            )
        self._blocked = blocked
        for path in result.settled + (result.waiting if requeue else ()):
            self._final(path)  # a dead server's files, and with requeue all not uploaded yet


def _check_writable(folder: Path) -> None:
    """Refuse to start with a folder that cannot take files (rather than lose every call)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # A name of its own: instances in containers sharing the folder may share a PID.
        handle, probe = tempfile.mkstemp(prefix=".write-test-", dir=folder)
        os.close(handle)
        Path(probe).unlink(missing_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot write recordings to {folder}: {exc.strerror or exc}",
            key="twilio_media_streams.recording.folder",
        ) from None
