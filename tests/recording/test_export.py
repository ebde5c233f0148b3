"""`telephonist export CALL_SID --recording FILE`: a call that ran on two instances comes out
as one WAV and one transcript, its segments in order with the gap between them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.recording.recorded import segment_files, simulated, stereo
from tests.server.test_resume import resumed_on, shared

from telephonist.call.events import EventKind
from telephonist.cli import main
from telephonist.simulator.script import Say

CALL_SID = "CA" + "5" * 32


async def record_on(serve, folder: Path, instance: str, said: str, **recording) -> None:
    """One stream of the call, on a server of its own that writes to the shared folder."""
    block = {"folder": str(folder), "instance": instance, **recording}
    async with serve(transcripts=[said], recording=block) as served:
        caller = served.caller(call_sid=CALL_SID)
        report = await simulated(served, caller=caller).run([Say(said)])
        assert report.ok, report.outcome
        await served.runtime.recordings.aclose()


@pytest.mark.parametrize("shared", [True, False], ids=["shared folder", "folder per instance"])
async def test_export_stitches_two_segments_of_one_call(
    serve, tmp_path: Path, capsys: pytest.CaptureFixture[str], shared: bool
):
    """Both segments, in order, with the silence between them; turns moved to match."""
    folders = [tmp_path / "shared"] * 2 if shared else [tmp_path / "a", tmp_path / "b"]
    await record_on(serve, folders[0], "web-1", "first part")
    await record_on(serve, folders[1], "web-2", "second part")
    wavs = segment_files(folders[0])[0] + (segment_files(folders[1])[0] if not shared else [])
    assert [w.name.split("_")[2] for w in wavs] == ["web-1.wav", "web-2.wav"]
    first, second = stereo(wavs[0]), stereo(wavs[1])
    project = tmp_path / "line"
    project.mkdir()
    (project / "credentials.yml").write_text(
        "twilio_media_streams:\n  server_url: example.org\n  asr: {name: local}\n"
        f"  tts: {{name: local}}\n  recording: {{folder: {folders[0]}}}\n"
    )
    out, transcript_file = tmp_path / "call.wav", tmp_path / "call.json"
    where = ["--project", str(project)]
    if not shared:
        where = [f"--recordings={folder}" for folder in folders]
    code = main(
        ["export", CALL_SID, *where, "--recording", str(out), "--transcript", str(transcript_file)]
    )
    assert code == 0, capsys.readouterr().err
    assert "2 segment(s)" in capsys.readouterr().err
    whole = stereo(out)
    transcript = json.loads(transcript_file.read_text())
    one, two = transcript["segments"]
    assert (one["instance"], two["instance"]) == ("web-1", "web-2")
    assert one["offset_s"] == 0 and one["complete"] and two["complete"]
    gap = round(two["offset_s"] * 8000) - len(first)
    assert 0 <= gap < 8000  # the second stream began soon after the first ended
    assert np.array_equal(whole[: len(first)], first)
    assert not np.any(whole[len(first) : len(first) + gap])
    assert np.array_equal(whole[len(first) + gap :], second)
    said = [t["caller"]["text"] for t in transcript["turns"] if t["caller"]]
    assert said == ["first part", "second part"]
    starts = [t["at_s"] for t in transcript["turns"] if t["event"] == "call_start"]
    assert starts[1] >= two["offset_s"] > starts[0]


def test_export_says_when_a_call_has_no_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """An unknown CallSid is an error naming the folder searched."""
    code = main(["export", "CAnone", "--recordings", str(tmp_path), "--recording", "x.wav"])
    assert code == 1
    assert f"no recording of 'CAnone' in {tmp_path}" in capsys.readouterr().err


async def test_a_resumed_stream_on_one_server_is_a_segment_of_its_own(serve, tmp_path: Path):
    """A call whose stream is lost and resumed on the same server: the lost stream's segment
    ends as lost, the resumed stream's segment goes on until the caller hangs up."""
    folder = tmp_path / "recordings"
    async with serve(recording={"folder": str(folder)}, **shared()) as served:
        caller = await served.connected_call(call_sid=CALL_SID)
        caller.drop_stream()
        await resumed_on(served, caller)
        await caller.send_audio(b"\xff" * 160 * 50)
        await caller.hang_up()
        await served.wait_event(EventKind.CALL_ENDED, 2)
        await served.runtime.recordings.aclose()
    transcripts = [json.loads(p.read_text()) for p in segment_files(folder)[1]]
    assert [t["end_reason"] for t in transcripts] == ["stream closed", "caller hung up"]
    assert all(t["complete"] for t in transcripts)
    assert transcripts[1]["duration_s"] >= 1.0


async def test_a_segment_without_audio_is_silence_of_its_length(
    serve, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """The first instance keeps transcripts only: in the joined WAV its stretch is silence,
    so the second segment's audio starts where its turns say."""
    folder = tmp_path / "shared"
    await record_on(serve, folder, "web-1", "first part", wav=False)
    await record_on(serve, folder, "web-2", "second part")
    [second_wav] = segment_files(folder)[0]
    second = stereo(second_wav)
    out, transcript_file = tmp_path / "call.wav", tmp_path / "call.json"
    files = ["--recording", str(out), "--transcript", str(transcript_file)]
    code = main(["export", CALL_SID, f"--recordings={folder}", *files])
    assert code == 0, capsys.readouterr().err
    one, two = json.loads(transcript_file.read_text())["segments"]
    assert one["duration_s"] > 3  # the greeting and a turn
    whole = stereo(out)
    start = round(two["offset_s"] * 8000)
    assert start >= round(one["duration_s"] * 8000)
    assert not np.any(whole[:start])
    assert np.array_equal(whole[start:], second)
