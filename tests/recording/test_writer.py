"""The writer thread: what a dead server leaves is readable and exported, and a disk that
cannot keep up costs audio (counted), never time on the event loop."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from telephonist.config.recording import parse_recording
from telephonist.errors import ConfigError
from telephonist.recording.export import stitch
from telephonist.recording.tap import CallTap
from telephonist.recording.wav import read_pcm
from telephonist.recording.writer import MAX_BACKLOG_BYTES, SegmentWriter

SECOND = 8000


def settings_for(folder: Path):
    """Recording into ``folder``, no limits."""
    return parse_recording(
        {"folder": str(folder), "max_size_mb": 0, "retention_days": 0, "instance": "web-1"},
        file=str(folder / "credentials.yml"),
    )


def test_a_dead_servers_segment_is_readable_and_exported(tmp_path: Path):
    """Without its end (the server died), a segment stays ``.partial`` with a valid WAV of
    what was written and the transcript's last snapshot; export joins it, marked incomplete."""
    writer = SegmentWriter(settings_for(tmp_path))
    tap = CallTap("CA1", settings_for(tmp_path), writer, time.time)
    for _ in range(12 * 50):  # 12 s of caller frames
        tap.caller(b"\x10" * 160)
    writer.transcript(tap.key, json.dumps({"call_sid": "CA1", "turns": [{"at_s": 1.0}]}))
    writer.barrier().wait()  # ...and then the process is killed: no finish
    wavs = list(tmp_path.glob("*/*.partial.wav"))
    assert len(wavs) == 1 and list(tmp_path.glob("*/*.partial.json"))
    call = stitch([tmp_path], "CA1")
    assert call is not None
    assert call.seconds == (12 * SECOND - SECOND) / SECOND  # all but the last second (held)
    assert call.transcript["segments"][0]["complete"] is False
    assert call.transcript["turns"] == [{"at_s": 1.0}]
    writer.close()


def test_a_disk_that_cannot_keep_up_loses_audio_not_time(tmp_path: Path):
    """Queuing never waits: past the backlog cap audio is dropped, and the call's final
    transcript says how much; what was dropped is silence in the WAV, so what follows is
    where it was said."""
    writer = SegmentWriter(settings_for(tmp_path))
    tap = CallTap("CA2", settings_for(tmp_path), writer, time.time)
    chunk = b"\x10" * SECOND
    seconds = 3 * MAX_BACKLOG_BYTES // (2 * SECOND)  # 48 MB at once: far faster than a disk
    for _ in range(seconds):
        writer.audio(tap.key, chunk, chunk)
    writer.barrier().wait(30)
    writer.audio(tap.key, b"\x90" * SECOND, chunk)  # a second said after the disk caught up
    tap.close("caller hung up")
    writer.close()
    [transcript] = [json.loads(p.read_text()) for p in tmp_path.glob("*/*.json")]
    lost = transcript["audio_lost_s"]["backlog"]  # had audio() waited, nothing would be lost
    assert lost > MAX_BACKLOG_BYTES / (2 * SECOND)
    [wav] = tmp_path.glob("*/*.wav")
    caller = np.frombuffer(read_pcm(wav), dtype="<i2")[::2]
    assert len(caller) == (seconds + 1) * SECOND
    kept = seconds - round(lost)
    assert np.all(caller[: kept * SECOND] != 0) and not np.any(caller[kept * SECOND : -SECOND])
    assert np.all(caller[-SECOND:] != 0) and caller[-1] != caller[0]


def test_a_folder_that_cannot_take_files_stops_start_up(tmp_path: Path):
    """A recordings folder where nothing can be written is refused at once, naming the key."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError) as error:
        SegmentWriter(settings_for(blocker / "recordings"))
    assert "twilio_media_streams.recording.folder" in str(error.value)
    assert "cannot write recordings to" in str(error.value)
