"""Retention and the size cap: old segments go, the oldest finished calls make room, calls in
progress stay; across real calls the folder never holds more than its cap."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.recording.recorded import segment_files, simulated

from telephonist.config.recording import parse_recording
from telephonist.recording.retention import sweep
from telephonist.recording.tap import CallTap
from telephonist.recording.writer import RESCAN_SHARE, SegmentWriter
from telephonist.simulator.script import Say

DAY = 86400.0
NOW = 1_790_000_000.0


def segment(folder: Path, name: str, size: int, age_s: float, *, partial: bool = False) -> Path:
    """A fake segment (WAV + transcript) last changed ``age_s`` before NOW."""
    day = folder / "2026-11-01"
    day.mkdir(parents=True, exist_ok=True)
    suffix = ".partial" if partial else ""
    wav = day / f"{name}{suffix}.wav"
    transcript = day / f"{name}{suffix}.json"
    wav.write_bytes(b"\0" * size)
    transcript.write_text("{}")
    for path in (wav, transcript):
        os.utime(path, (NOW - age_s, NOW - age_s))
    return wav


def test_segments_older_than_the_retention_period_are_deleted(tmp_path: Path):
    """Both files of an expired segment go, and its day folder when empty; newer ones stay."""
    old = segment(tmp_path, "CAold_20261001T000000000Z_a", 100, 31 * DAY)
    new = segment(tmp_path, "CAnew_20261101T000000000Z_a", 100, 29 * DAY)
    result = sweep(tmp_path, now=NOW, retention_s=30 * DAY, max_bytes=None)
    assert not old.exists() and not old.with_suffix(".json").exists()
    assert new.exists() and new.with_suffix(".json").exists()
    assert result.total_bytes == 100 + 2


def test_the_cap_deletes_the_oldest_finished_calls_first(tmp_path: Path):
    """Over the cap, the oldest go until the folder is within 90 % of it; this server's call
    in progress and another server's fresh partial segment are kept."""
    active = segment(tmp_path, "CA1_20261101T000000000Z_a", 100_000, 50, partial=True)
    oldest = segment(tmp_path, "CA2_20261101T000000000Z_a", 100_000, 40)
    older = segment(tmp_path, "CA3_20261101T000000000Z_a", 100_000, 30)
    elsewhere = segment(tmp_path, "CA4_20261101T000000000Z_b", 100_000, 20, partial=True)
    newest = segment(tmp_path, "CA5_20261101T000000000Z_a", 100_000, 10)
    result = sweep(
        tmp_path,
        now=NOW,
        retention_s=None,
        max_bytes=340_000,
        low_water=0.9,
        active=[active, active.with_suffix(".json")],
    )
    assert not oldest.exists() and not older.exists()
    assert active.exists() and elsewhere.exists() and newest.exists()
    assert result.total_bytes == 3 * (100_000 + 2) <= 340_000 * 0.9


def test_a_dead_servers_partial_segment_is_swept_like_a_finished_one(tmp_path: Path):
    """A partial segment untouched for over an hour counts as finished."""
    stale = segment(tmp_path, "CA1_20261101T000000000Z_b", 100_000, 2 * 3600, partial=True)
    sweep(tmp_path, now=NOW, retention_s=None, max_bytes=50_000)
    assert not stale.exists()


def test_the_writer_sweeps_when_it_starts(tmp_path: Path):
    """Expired recordings are deleted as soon as the server starts, off the event loop."""
    old = segment(tmp_path, "CAold_20261001T000000000Z_a", 100, 8 * DAY)
    settings = parse_recording(
        {"folder": str(tmp_path), "retention_days": 7}, file=str(tmp_path / "credentials.yml")
    )
    writer = SegmentWriter(settings, wall=lambda: NOW)
    writer.close()
    assert not old.exists()


async def test_the_cap_holds_across_real_calls(serve, tmp_path: Path):
    """Three recorded calls into a folder capped below their total: it never holds more than
    the cap, and the newest call is whole."""
    folder = tmp_path / "recordings"
    cap_mb = 0.35
    async with serve(
        transcripts=["one", "two", "three"],
        recording={"folder": str(folder), "max_size_mb": cap_mb},
    ) as served:
        sizes = []
        for word in ("one", "two", "three"):
            report = await simulated(served).run([Say(word)])
            assert report.ok, report.outcome
            await served.runtime.recordings.written()
            sizes.append(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()))
        await served.runtime.recordings.aclose()
    assert max(sizes) <= cap_mb * 1024 * 1024
    _, transcripts = segment_files(folder)
    assert len(transcripts) < 3
    last = transcripts[-1].read_text()
    assert '"text": "three"' in last and "audio_lost_s" not in last


def test_a_dead_servers_segment_takes_its_final_names(tmp_path: Path):
    """Untouched for an hour, a partial segment is renamed as finished and reported (to be
    uploaded); a fresh one is left alone, and a finished file of the same name wins."""
    stale = segment(tmp_path, "CA1_20261101T000000000Z_b", 100, 2 * 3600, partial=True)
    fresh = segment(tmp_path, "CA2_20261101T000000000Z_b", 100, 600, partial=True)
    half = segment(tmp_path, "CA3_20261101T000000000Z_b", 100, 2 * 3600, partial=True)
    done = half.with_name("CA3_20261101T000000000Z_b.json")
    done.write_text('{"complete": true}')
    os.utime(done, (NOW - 2 * 3600, NOW - 2 * 3600))
    result = sweep(tmp_path, now=NOW, retention_s=None, max_bytes=None)
    day = stale.parent
    assert set(result.settled) == {
        day / "CA1_20261101T000000000Z_b.wav",
        day / "CA1_20261101T000000000Z_b.json",
        day / "CA3_20261101T000000000Z_b.wav",
    }
    assert all(p.exists() for p in result.settled) and not stale.exists()
    assert fresh.exists() and fresh.with_suffix(".json").exists()
    assert not half.with_suffix(".json").exists() and done.read_text() == '{"complete": true}'
    assert sweep(tmp_path, now=NOW, retention_s=None, max_bytes=None).settled == ()


def test_instances_sharing_a_folder_keep_it_near_its_cap(tmp_path: Path):
    """Two instances record into one capped folder, their calls' audio interleaved: each
    measures the folder again as it writes, so together they stay near the cap (each one's
    own count alone let the folder grow to twice it)."""
    cap_mb = 1.0
    writers, settings = [], []
    for name in ("web-1", "web-2"):
        block = {"folder": str(tmp_path), "max_size_mb": cap_mb, "instance": name}
        settings.append(parse_recording(block, file=str(tmp_path / "credentials.yml")))
        writers.append(SegmentWriter(settings[-1]))
    peak = 0
    pairs = list(zip(settings, writers, strict=True))
    for call in range(6):  # 6 rounds of 2 calls of 6 s: 2.3 MB of audio in all
        taps = [CallTap(f"CA{call}x{i}", s, w, time.time) for i, (s, w) in enumerate(pairs)]
        for _ in range(6 * 50):
            for tap in taps:
                tap.caller(b"\x10" * 160)
        for tap, writer in zip(taps, writers, strict=True):
            tap.close("caller hung up")
            writer.barrier().wait(10)
        peak = max(peak, sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file()))
    for writer in writers:
        writer.close()
    assert peak <= cap_mb * 1024 * 1024 * (1 + 2 * RESCAN_SHARE) + 2 * 48_000
