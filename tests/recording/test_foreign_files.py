"""The recordings folder may share a volume with other files: the sweep and the uploader,
which delete files, touch only those named as recordings in day folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from telephonist.config.recording import BucketSettings
from telephonist.recording.retention import sweep
from telephonist.recording.upload import BucketUploader

DAY = 86400.0
NOW = 1_790_000_000.0


def foreign_files(root: Path) -> list[Path]:
    """Files that are not recordings, old enough for any retention, big enough for any cap."""
    made = [
        root / "prompts" / "hold_music.wav",
        root / "config" / "settings.json",
        root / "order.wav",
        root / "2026-11-01" / "notes.json",  # a day folder, but not a recording's name
        root / "2026-11-01" / "CA1_20261101T000000000Z_a.json.tmp",
    ]
    for path in made:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * 10_000)
        os.utime(path, (NOW - 400 * DAY, NOW - 400 * DAY))
    return made


def test_the_sweep_leaves_files_that_are_not_recordings(tmp_path: Path):
    """Expired and over the cap, the foreign files stay (and are not counted); an expired
    recording beside them goes."""
    others = foreign_files(tmp_path)
    recording = tmp_path / "2026-11-01" / "CA2_20261101T000000000Z_a.wav"
    recording.write_bytes(b"\0" * 100)
    os.utime(recording, (NOW - 40 * DAY, NOW - 40 * DAY))
    result = sweep(tmp_path, now=NOW, retention_s=30 * DAY, max_bytes=1, low_water=0.9)
    assert all(p.exists() for p in others)
    assert result.deleted == (recording,) and result.total_bytes == 0


def test_the_uploader_leaves_files_that_are_not_recordings(tmp_path: Path):
    """keep_local: false uploads (and then deletes) the finished recordings left in the
    folder at start-up, nothing else."""
    pytest.importorskip("boto3", reason="recording.s3 needs boto3 (the dev extra has it)")
    others = foreign_files(tmp_path)
    recording = tmp_path / "2026-11-01" / "CA2_20261101T000000000Z_a.json"
    recording.write_text("{}")
    keys: list[str] = []

    class Client:
        def upload_file(self, path: str, bucket: str, key: str) -> None:
            keys.append(key)

    settings = BucketSettings(bucket="bkt", keep_local=False)
    uploader = BucketUploader(settings, tmp_path, make_client=lambda _: Client())
    assert uploader.barrier().wait(10)
    uploader.close()
    assert keys == ["2026-11-01/CA2_20261101T000000000Z_a.json"]
    assert all(p.exists() for p in others) and not recording.exists()
