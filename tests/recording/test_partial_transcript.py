"""The transcript on disk while a call goes on is at most 10 s of call time behind, whenever
its events come: turns close together are saved by the audio's own flushes, not only when a
later turn happens to arrive."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from tests.fakes.events import make

from telephonist.call.events import BotMessageStarted, TurnTaken
from telephonist.config.recording import parse_recording
from telephonist.recording.tap import SAVE_EVERY_BYTES, CallTap
from telephonist.recording.writer import SegmentWriter

CALL_SID = "CA" + "3" * 32


def test_turns_close_together_reach_the_disk_within_ten_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Two turns 3 s apart, then two minutes of call: both are in the partial transcript,
    and the snapshots were few (one per 10 s at most)."""
    settings = parse_recording({"folder": "rec"}, file=str(tmp_path / "credentials.yml"))
    writer = SegmentWriter(settings)
    snapshots: list[int] = []
    real = writer.transcript

    def transcript(key: str, text: str) -> None:
        snapshots.append(1)
        real(key, text)

    monkeypatch.setattr(writer, "transcript", transcript)
    tap = CallTap(CALL_SID, settings, writer, time.time)

    def until(seconds: float) -> None:
        while tap.timeline.position < seconds * 8000:
            tap.caller(b"\x10" * 160)

    def turn(text: str, message_id: int, answer: str) -> None:
        tap.event(
            make(
                TurnTaken,
                call_id=CALL_SID,
                event="UserText",
                text=text,
                source="speech",
                confidence=0.9,
                sensitive=False,
            )
        )
        tap.event(make(BotMessageStarted, call_id=CALL_SID, message_id=message_id, text=answer))

    until(1)
    turn("I want to cancel my order", 1, "Which order?")
    until(4)
    turn("order 5512", 2, "Order 5512 is cancelled.")
    until(4 + SAVE_EVERY_BYTES / 8000 + 1)
    assert writer.barrier().wait(10)
    [partial] = settings.folder.glob("*/*.partial.json")
    turns = json.loads(partial.read_text())["turns"]
    assert [t["caller"]["text"] for t in turns] == ["I want to cancel my order", "order 5512"]
    assert [[b["text"] for b in t["bot"]] for t in turns][-1] == ["Order 5512 is cancelled."]
    until(120)
    assert len(snapshots) == 2  # nothing changed after the second
    tap.close("caller hung up")
    writer.close()
