"""Script parsing, WAV input and the playout buffer: pure, no server."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from telephonist.errors import ConfigError
from telephonist.simulator.recording import Recording, read_wav_mulaw
from telephonist.simulator.report import percentiles
from telephonist.simulator.script import (
    Audio,
    BargeInAfter,
    Dtmf,
    HangUp,
    Say,
    Silence,
    Wait,
    parse_script,
    read_script,
)
from telephonist.twilio.playout import Playout

SCRIPT = """\
# an order check
say I'd like to check my order     # spoken
dtmf 1234#
wait
wait 2.5
silence 8
barge_in_after 0.5
audio clips/stop.wav
say "thanks, goodbye"
hangup
"""


def test_every_step_kind_is_parsed_in_order():
    """Each step line becomes its step; comments and blank lines are skipped."""
    steps = parse_script(SCRIPT, base=Path("/scripts"))
    assert steps == [
        Say("I'd like to check my order"),
        Dtmf("1234#"),
        Wait(None),
        Wait(2.5),
        Silence(8.0),
        BargeInAfter(0.5),
        Audio(Path("/scripts/clips/stop.wav")),
        Say("thanks, goodbye"),
        HangUp(),
    ]


def test_hash_key_is_not_a_comment():
    """``dtmf #`` presses the pound key; only `` # `` between spaces starts a comment."""
    assert parse_script("dtmf #\ndtmf 9# # then pound") == [Dtmf("#"), Dtmf("9#")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("say", "say needs the text"),
        ("dtmf 12x", "DTMF keys are 0-9"),
        ("wait soon", "expected a number of seconds"),
        ("silence -1", "between 0 and 3600"),
        ("hangup now", "takes no argument"),
        ("shout hello", "unknown step 'shout'"),
        ("barge_in_after 1\ndtmf 1", "must be followed by say or audio"),
    ],
)
def test_bad_lines_are_reported_with_their_line(text, message):
    """A bad step is a ConfigError naming the file, the line and what is wrong."""
    with pytest.raises(ConfigError, match=message) as raised:
        parse_script(text, file="order.call")
    assert str(raised.value).startswith("order.call")
    if "\n" not in text:
        assert "line 1" in str(raised.value)


def test_script_file_paths_are_relative_to_it(tmp_path):
    """``audio`` paths in a script file resolve against the file's directory."""
    script = tmp_path / "calls" / "a.call"
    script.parent.mkdir()
    script.write_text("audio hello.wav\n")
    assert read_script(script) == [Audio(tmp_path / "calls" / "hello.wav")]
    with pytest.raises(ConfigError, match="cannot read script"):
        read_script(tmp_path / "missing.call")


def test_wav_at_any_rate_becomes_8khz_mulaw(tmp_path):
    """A 16 kHz stereo WAV is mixed down and resampled: one second is 8000 mu-law bytes."""
    path = tmp_path / "in.wav"
    tone = (np.sin(2 * np.pi * 440 * np.arange(16000) / 16000) * 8000).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(np.repeat(tone, 2).tobytes())
    audio = read_wav_mulaw(path)
    assert len(audio) == 8000
    assert audio.count(0xFF) < 100
    with pytest.raises(ConfigError, match="cannot read WAV"):
        read_wav_mulaw(tmp_path / "in.wav.missing")


def test_recording_is_stereo_and_aligned(tmp_path):
    """Caller frames go left, bot frames right, padded with silence to whole frames."""
    recording = Recording()
    recording.add(b"\x00" * 160, b"")
    recording.add(b"\xff" * 160, b"\x10" * 80)
    path = tmp_path / "call.wav"
    recording.write(path)
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getnframes()) == (2, 8000, 320)
        samples = np.frombuffer(wav.readframes(320), dtype="<i2").reshape(-1, 2)
    assert (samples[:160, 0] != 0).all() and (samples[:160, 1] == 0).all()
    assert (samples[160:240, 1] != 0).all() and (samples[240:, 1] == 0).all()
    assert recording.duration_s == pytest.approx(0.04)


def test_playout_take_returns_the_audio_heard_and_marks_reached():
    """Playback is 8 bytes per ms; a mark is reached when the audio before it has played."""
    playout = Playout(keep_played=False)
    playout.add_audio(b"a" * 200)
    assert playout.add_mark("m1") == []
    assert playout.take(20) == (b"a" * 160, [])
    assert playout.take(20) == (b"a" * 40, ["m1"])
    assert playout.played == bytearray()


def test_percentiles_use_nearest_rank():
    """p50 of 1..100 is 50, p95 is 95, p99 is 99."""
    summary = percentiles([float(v) for v in range(100, 0, -1)])
    assert (summary["p50"], summary["p95"], summary["p99"], summary["max"]) == (50, 95, 99, 100)
    assert percentiles([]) == {}
