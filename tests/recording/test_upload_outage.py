"""An S3 outage longer than the uploader's retries loses nothing: files still to upload are
tried again on the writer's periodic sweep (and as soon as one upload succeeds again), and
neither retention nor the size cap deletes them meanwhile."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from telephonist.config.recording import parse_recording
from telephonist.recording.retention import sweep
from telephonist.recording.tap import CallTap
from telephonist.recording.upload import BucketUploader, awaiting_upload, marker
from telephonist.recording.writer import SWEEP_EVERY_S, SegmentWriter

pytest.importorskip("boto3", reason="recording.s3 needs boto3 (the dev extra has it)")

DAY = 86400.0
NOW = 1_790_000_000.0


class Bucket:
    """A stand-in S3 client: fails while ``down``, else stores what it is given."""

    def __init__(self) -> None:
        self.down = True
        self.objects: dict[str, bytes] = {}
        self.lock = threading.Lock()

    def upload_file(self, path: str, bucket: str, key: str) -> None:
        """boto3's ``upload_file``."""
        if self.down:
            raise ConnectionError("endpoint unreachable")
        with self.lock:
            self.objects[key] = Path(path).read_bytes()


class Clock:
    """The writer's wall clock, moved by the test."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def settings_for(folder: Path, *, keep_local: bool, cap_mb: float = 0) -> Any:
    """Recording into ``folder`` with a bucket."""
    block = {
        "folder": str(folder),
        "max_size_mb": cap_mb,
        "retention_days": 0,
        "instance": "web-1",
        "s3": {"bucket": "bkt", "keep_local": keep_local},
    }
    return parse_recording(block, file=str(folder / "credentials.yml"))


def record(settings: Any, writer: SegmentWriter, sid: str, seconds: float, wall: Any) -> None:
    """One finished call of ``seconds`` of caller audio, written."""
    tap = CallTap(sid, settings, writer, wall)
    for _ in range(int(seconds * 50)):
        tap.caller(b"\x10" * 160)
    tap.close("caller hung up")
    writer.barrier().wait(10)


def finished(folder: Path) -> list[Path]:
    """The finished recording files (not the upload markers)."""
    return sorted(p for p in folder.glob("*/*.*") if not p.name.startswith("."))


@pytest.mark.parametrize("keep_local", [False, True], ids=["keep_local false", "keep_local"])
def test_files_that_failed_to_upload_are_tried_again_on_the_sweep_tick(
    tmp_path: Path, keep_local: bool
):
    """The retries are over while the bucket is still down; once it is back, the writer's
    next periodic sweep hands the files over again and they reach the bucket."""
    settings = settings_for(tmp_path, keep_local=keep_local)
    bucket, clock = Bucket(), Clock()
    uploader = BucketUploader(
        settings.s3, tmp_path, make_client=lambda _: bucket, delays=(0.0, 0.0)
    )
    writer = SegmentWriter(settings, wall=clock, on_final=uploader.put)
    record(settings, writer, "CA1", 1.0, clock)
    uploader.barrier().wait(10)
    assert (uploader.uploaded, uploader.failed, bucket.objects) == (0, 2, {})
    bucket.down = False
    clock.now += SWEEP_EVERY_S  # the sweep is due after the next job
    writer.barrier()
    writer.barrier().wait(10)
    uploader.barrier().wait(10)
    files = finished(tmp_path)
    assert len(bucket.objects) == 2 and uploader.uploaded == 2
    assert len(files) == (2 if keep_local else 0)
    assert all(bucket.objects[uploader.key(p)] == p.read_bytes() for p in files)
    assert not list(tmp_path.glob("*/.*.upload"))  # no file left marked as waiting
    writer.close()
    uploader.close()


def test_one_success_after_an_outage_retries_the_rest_at_once(tmp_path: Path):
    """The first upload that succeeds after failures means the bucket is back: the files
    that failed before go too, without waiting for the sweep."""
    settings = settings_for(tmp_path, keep_local=False)
    bucket, clock = Bucket(), Clock()
    uploader = BucketUploader(settings.s3, tmp_path, make_client=lambda _: bucket, delays=())
    writer = SegmentWriter(settings, wall=clock, on_final=uploader.put)
    record(settings, writer, "CA1", 1.0, clock)
    uploader.barrier().wait(10)
    bucket.down = False
    record(settings, writer, "CA2", 1.0, clock)
    uploader.barrier().wait(10)  # CA2's uploads, which queue CA1's...
    uploader.barrier().wait(10)  # ...tried after them
    assert sorted(k.split("/")[1][:3] for k in bucket.objects) == ["CA1", "CA1", "CA2", "CA2"]
    assert finished(tmp_path) == []
    writer.close()
    uploader.close()


def test_a_marked_file_is_uploaded_after_a_restart(tmp_path: Path):
    """With keep_local, a file whose upload never succeeded keeps its marker, and the next
    start-up uploads it (without a marker a kept file counts as uploaded)."""
    day = tmp_path / "2026-11-30"
    day.mkdir()
    waiting = day / "CA9_20261130T100000000Z_web-1.json"
    done = day / "CA8_20261130T100000000Z_web-1.json"
    for path in (waiting, done):
        path.write_text("{}")
    marker(waiting).touch()
    bucket = Bucket()
    bucket.down = False
    settings = settings_for(tmp_path, keep_local=True)
    uploader = BucketUploader(settings.s3, tmp_path, make_client=lambda _: bucket)
    uploader.barrier().wait(10)
    assert sorted(bucket.objects) == ["2026-11-30/CA9_20261130T100000000Z_web-1.json"]
    assert waiting.exists() and not marker(waiting).exists()
    uploader.close()


@pytest.mark.parametrize("keep_local", [False, True], ids=["keep_local false", "keep_local"])
def test_the_sweep_keeps_files_not_uploaded_yet(tmp_path: Path, keep_local: bool):
    """Expired and over the cap, a finished segment still to upload stays; one uploaded
    (keep_local: no marker) goes."""
    settings = settings_for(tmp_path, keep_local=keep_local).s3
    day = tmp_path / "2026-11-01"
    day.mkdir()
    unsent = day / "CA1_20261101T000000000Z_a.wav"
    sent = day / "CA2_20261101T000000000Z_a.wav"
    for path in (unsent, sent):
        path.write_bytes(b"\0" * 1000)
        os.utime(path, (NOW - 40 * DAY, NOW - 40 * DAY))
    marker(unsent).touch()
    result = sweep(
        tmp_path,
        now=NOW,
        retention_s=30 * DAY,
        max_bytes=100,
        waiting=lambda p: awaiting_upload(p, settings),
    )
    held = (unsent,) if keep_local else (unsent, sent)  # without keep_local, every file waits
    assert result.waiting == held and result.held_bytes == 1000 * len(held)
    assert unsent.exists() and sent.exists() is (not keep_local)


def test_without_a_bucket_a_swept_file_takes_its_marker_along(tmp_path: Path):
    """A marker left from when the channel had a bucket does not keep the day folder."""
    day = tmp_path / "2026-11-01"
    day.mkdir()
    old = day / "CA1_20261101T000000000Z_a.wav"
    old.write_bytes(b"\0")
    os.utime(old, (NOW - 40 * DAY, NOW - 40 * DAY))
    marker(old).touch()
    sweep(tmp_path, now=NOW, retention_s=30 * DAY, max_bytes=None)
    assert not day.exists()


def test_the_cap_waits_for_the_bucket_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    """With the bucket down, a full folder keeps the calls not uploaded (the new call's
    audio is dropped and counted instead), and a warning says why the cap is not met."""
    settings = settings_for(tmp_path, keep_local=False, cap_mb=0.1)
    bucket, clock = Bucket(), Clock()
    uploader = BucketUploader(settings.s3, tmp_path, make_client=lambda _: bucket, delays=())
    writer = SegmentWriter(settings, wall=clock, on_final=uploader.put)
    with caplog.at_level(logging.WARNING):
        record(settings, writer, "CA1", 2.0, clock)  # 64 kB of 105 kB
        record(settings, writer, "CA2", 2.0, clock)  # does not fit
    writer.close()
    uploader.close()
    names = [p.name[:3] for p in finished(tmp_path)]
    assert names.count("CA1") == 2 and names.count("CA2") >= 1
    [second] = [p for p in finished(tmp_path) if p.name.startswith("CA2") and p.suffix == ".json"]
    assert json.loads(second.read_text())["audio_lost_s"]["size_cap"] > 0
    warnings = [r.getMessage() for r in caplog.records if "recording.cap_blocked" in r.getMessage()]
    assert len(warnings) == 1 and "not uploaded yet" in warnings[0]


@pytest.mark.parametrize("keep_local", [False, True], ids=["keep_local false", "keep_local"])
def test_a_dead_servers_segment_reaches_the_bucket(tmp_path: Path, keep_local: bool):
    """Another server died mid-call: an hour later this one's sweep settles its files, keeps
    them through the cap, and uploads them."""
    day = tmp_path / "2026-11-01"
    day.mkdir()
    wav = day / "CA9_20261101T000000000Z_web-2.partial.wav"
    transcript = day / "CA9_20261101T000000000Z_web-2.partial.json"
    wav.write_bytes(b"\0" * 2_000_000)
    transcript.write_text('{"complete": false}')
    clock = Clock()
    for path in (wav, transcript):
        os.utime(path, (clock.now - 2 * 3600, clock.now - 2 * 3600))
    settings = settings_for(tmp_path, keep_local=keep_local, cap_mb=1)
    bucket = Bucket()
    bucket.down = False
    uploader = BucketUploader(settings.s3, tmp_path, make_client=lambda _: bucket, delays=())
    writer = SegmentWriter(settings, wall=clock, on_final=uploader.put)
    writer.barrier().wait(10)
    uploader.barrier().wait(10)
    assert sorted(bucket.objects) == [
        "2026-11-01/CA9_20261101T000000000Z_web-2.json",
        "2026-11-01/CA9_20261101T000000000Z_web-2.wav",
    ]
    assert bucket.objects["2026-11-01/CA9_20261101T000000000Z_web-2.json"] == b'{"complete": false}'
    assert len(finished(tmp_path)) == (2 if keep_local else 0)
    writer.close()
    uploader.close()
