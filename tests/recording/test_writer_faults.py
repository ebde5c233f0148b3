"""The writer thread under faults: a job that fails costs that job's data and the thread lives
on; a stalled disk holds bounded memory; start-up probes of instances sharing a folder do not
collide; a closed tap or a finished segment leaves no backlog behind."""

from __future__ import annotations

import base64
import json
import logging
import pathlib
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from telephonist.config.recording import parse_recording
from telephonist.recording import wav
from telephonist.recording import writer as writer_module
from telephonist.recording.tap import CallTap
from telephonist.recording.writer import MAX_BACKLOG_BYTES, SegmentWriter

SECOND = 8000
MB = 1024 * 1024


def settings_for(folder: Path) -> Any:
    """Recording into ``folder``, no limits."""
    return parse_recording(
        {"folder": str(folder), "max_size_mb": 0, "retention_days": 0, "instance": "web-1"},
        file=str(folder / "credentials.yml"),
    )


def transcripts(folder: Path) -> dict[str, dict[str, Any]]:
    """Each finished transcript by its CallSid."""
    found = (json.loads(p.read_text()) for p in folder.glob("*/*.json") if ".partial" not in p.name)
    return {t["call_sid"]: t for t in found}


def open_segment(writer: SegmentWriter, folder: Path, name: str) -> str:
    """A segment opened directly on the writer; its key."""
    day = folder / "2026-11-30"
    writer.open(
        name, day / f"{name}_20261130T100000000Z_web-1.partial.wav", day / f"{name}.partial.json"
    )
    return name


def stall(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """The disk hangs on the next WAV created (hung NFS): set once the thread is stuck there,
    and the event that lets it go on."""
    entered, release = threading.Event(), threading.Event()
    real_create = wav.create

    def stalled(path: Path) -> None:
        entered.set()
        release.wait()
        real_create(path)

    monkeypatch.setattr(wav, "create", stalled)
    return entered, release


def test_a_lone_surrogate_in_a_transcript_neither_kills_the_writer_nor_is_lost(tmp_path: Path):
    """Half an emoji in a bot's text (a lone UTF-16 surrogate) is written as its JSON escape,
    in the partial snapshot and the final transcript, and later calls are recorded."""
    settings = settings_for(tmp_path)
    writer = SegmentWriter(settings)
    text = json.loads('"Great \\ud83d"')
    tap = CallTap("CA1", settings, writer, time.time)
    writer.transcript(tap.key, json.dumps({"call_sid": "CA1", "bot": text}, ensure_ascii=False))
    assert writer.barrier().wait(10)
    [partial] = tmp_path.glob("*/*.partial.json")
    assert json.loads(partial.read_text())["bot"] == text
    writer.finish(tap.key, json.dumps({"call_sid": "CA1", "bot": text}, ensure_ascii=False))
    later = CallTap("CA2", settings, writer, time.time)
    for _ in range(100):
        later.caller(b"\x10" * 160)
    later.close("caller hung up")
    assert writer.barrier().wait(10)
    assert writer._thread.is_alive()
    found = transcripts(tmp_path)
    assert found["CA1"]["bot"] == text and found["CA2"]["end_reason"] == "caller hung up"
    writer.close()


def test_any_failing_job_is_logged_and_counted_and_the_thread_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """A job that raises something other than OSError: logged once as write_failed (by the
    exception's type, not its message, which may quote the call), its audio counted lost and
    silent in the WAV, which keeps the call's length."""
    settings = settings_for(tmp_path)
    writer = SegmentWriter(settings)
    real_append = wav.append

    def broken(path: Path, pcm: bytes) -> None:
        raise RuntimeError("secret 4111 1111")

    tap = CallTap("CA1", settings, writer, time.time)
    monkeypatch.setattr(wav, "append", broken)
    with caplog.at_level(logging.ERROR):
        for _ in range(2 * 50):
            tap.caller(b"\x10" * 160)
        writer.barrier().wait(10)
    monkeypatch.setattr(wav, "append", real_append)
    tap.close("caller hung up")
    assert writer.barrier().wait(10)
    lost = transcripts(tmp_path)["CA1"]["audio_lost_s"]["write_error"]
    [recording] = tmp_path.glob("*/*.wav")
    pcm = np.frombuffer(wav.read_pcm(recording), dtype="<i2").reshape(-1, 2)
    assert lost > 0 and len(pcm) == 2 * SECOND
    lost_samples = round(lost * SECOND)
    assert not np.any(pcm[:lost_samples]) and np.all(pcm[lost_samples:, 0] != 0)
    failures = [r.getMessage() for r in caplog.records if "write_failed" in r.getMessage()]
    assert failures == ["recording.write_failed: RuntimeError (audio)"]
    assert "4111" not in caplog.text
    writer.close()


def test_a_stalled_disk_keeps_only_the_newest_transcript_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """While the thread is stuck, each new snapshot replaces the one waiting: one job and one
    text per call, and the newest is what reaches the disk."""
    writer = SegmentWriter(settings_for(tmp_path))
    entered, release = stall(monkeypatch)
    key = open_segment(writer, tmp_path, "CA1")
    writer.audio(key, b"\x10" * 160, b"\xff" * 160)
    assert entered.wait(10)
    for n in range(1000):
        writer.transcript(key, json.dumps({"call_sid": "CA1", "n": n, "turns": ["x" * 1000]}))
    assert writer._jobs.qsize() == 1
    release.set()
    assert writer.barrier().wait(10)
    [partial] = tmp_path.glob("*/*.partial.json")
    assert json.loads(partial.read_text())["n"] == 999
    writer.close()


def test_the_backlog_cap_counts_the_bots_audio_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Each queued stretch holds both tracks: with the disk stalled, the cap admits half as
    many seconds as caller bytes alone would."""
    writer = SegmentWriter(settings_for(tmp_path))
    entered, release = stall(monkeypatch)
    key = open_segment(writer, tmp_path, "CA1")
    writer.audio(key, b"\x10" * 160, b"\xff" * 160)
    assert entered.wait(10)
    stretches = 2 * MAX_BACKLOG_BYTES // MB
    for _ in range(stretches):
        writer.audio(key, b"\x10" * (MB // 2), b"\xff" * (MB // 2))
    release.set()
    writer.finish(key, json.dumps({"call_sid": "CA1"}))
    writer.close()
    lost = transcripts(tmp_path)["CA1"]["audio_lost_s"]["backlog"]
    assert lost == stretches // 2 * (MB // 2) / SECOND


def test_instances_sharing_a_folder_and_a_pid_do_not_collide_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Another instance (same PID, as in containers) starts while this one's probe file is
    there: both start, and no probe is left behind."""
    real_unlink = pathlib.Path.unlink
    nested: list[bool] = []

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self.name.startswith(".write-test-") and not nested:
            nested.append(True)
            writer_module._check_writable(self.parent)  # the other instance, right now
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(pathlib.Path, "unlink", unlink)
    writer_module._check_writable(tmp_path)
    assert nested and list(tmp_path.iterdir()) == []


def test_audio_after_the_end_leaves_no_backlog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A closed tap still fed frames (the old socket after "stream replaced") queues nothing,
    and audio queued for a segment already finished still comes off the backlog: a later
    call loses nothing to it."""
    settings = settings_for(tmp_path)
    writer = SegmentWriter(settings)
    old = CallTap("CA1", settings, writer, time.time)
    old.close("stream replaced")
    queued: list[int] = []
    real_audio = writer.audio

    def audio(key: str, caller: bytes, bot: bytes) -> None:
        queued.append(len(caller))
        real_audio(key, caller, bot)

    monkeypatch.setattr(writer, "audio", audio)
    for _ in range(60 * 50):
        old.caller(b"\x10" * 160)
    assert queued == []
    writer.audio(old.key, b"\x10" * MAX_BACKLOG_BYTES, b"")  # arrives after its finish
    writer.barrier().wait(10)
    tap = CallTap("CA2", settings, writer, time.time)
    for _ in range(2 * 50):
        tap.caller(b"\x10" * 160)
    tap.close("caller hung up")
    writer.close()
    assert "audio_lost_s" not in transcripts(tmp_path)["CA2"]


def test_bot_audio_sent_too_far_ahead_is_counted_as_lost(tmp_path: Path):
    """Bot audio beyond two minutes ahead of playback cannot be placed: the final transcript
    says how much, rather than the bot track going quiet unexplained."""
    settings = settings_for(tmp_path)
    writer = SegmentWriter(settings)
    tap = CallTap("CA1", settings, writer, time.time)
    second = base64.b64encode(b"\x20" * SECOND).decode()
    for _ in range(125):  # 125 s sent at once, before any of it is played
        tap.sent('{"event":"media","streamSid":"MZ1","media":{"payload":"' + second + '"}}')
    tap.caller(b"\xff" * 160)
    tap.close("caller hung up")
    assert writer.barrier().wait(10)
    writer.close()
    assert transcripts(tmp_path)["CA1"]["audio_lost_s"] == {"bot_ahead": 5.0}
