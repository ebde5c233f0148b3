"""`export --recording X --transcript Y` of a call recorded without audio (``wav: false``):
the transcript is written all the same; only the WAV is refused."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from telephonist.cli import main
from telephonist.config.recording import parse_recording
from telephonist.recording.tap import CallTap
from telephonist.recording.writer import SegmentWriter

CALL_SID = "CA" + "9" * 32


def test_the_transcript_is_written_when_the_call_has_no_audio(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """Exit 1 for the missing audio, and the transcript file is there."""
    settings = parse_recording(
        {"folder": "rec", "wav": False}, file=str(tmp_path / "credentials.yml")
    )
    writer = SegmentWriter(settings)
    tap = CallTap(CALL_SID, settings, writer, time.time)
    for _ in range(100):
        tap.caller(b"\x10" * 160)
    tap.close("caller hung up")
    writer.close()
    wav_out, json_out = tmp_path / "call.wav", tmp_path / "call.json"
    where = ["--recordings", str(settings.folder)]
    code = main(
        ["export", CALL_SID, *where, "--recording", str(wav_out), "--transcript", str(json_out)]
    )
    assert code == 1 and "no audio" in capsys.readouterr().err
    assert not wav_out.exists()
    assert json.loads(json_out.read_text())["call_sid"] == CALL_SID
