"""The simulator's end-of-speech rule, on real recorded telephone speech."""

from __future__ import annotations

import pytest
from tests.audio_samples import load_prompt, silence, white_noise

from telephonist.simulator.voicing import first_voiced_frame, last_voiced_frame

HAND_MARKED_END_MS = {
    "agent-pass": 3185,
    "conf-getpin": 2255,
    "vm-whichbox": 3080,
    "hello": 685,
}
"""Where each prompt's last word ends, marked by hand on its waveform (5 ms windows): the
point where the final sound's decay falls steeply towards the recording's noise floor."""


def end_ms(audio: bytes) -> int:
    """The end of the last voiced 20 ms frame, in ms."""
    last = last_voiced_frame(audio)
    assert last is not None
    return (last + 1) * 20


@pytest.mark.parametrize("name", sorted(HAND_MARKED_END_MS))
def test_end_of_speech_is_found_within_two_frames(name: str) -> None:
    """On each prompt, the rule's end of speech is within 40 ms of the hand-marked one, and
    before the clip's own trailing silence ends."""
    audio = load_prompt(name).mulaw
    assert abs(end_ms(audio) - HAND_MARKED_END_MS[name]) <= 40
    assert end_ms(audio) < len(audio) // 8


@pytest.mark.parametrize("tail", ["digital silence", "line noise at -60 dBFS"])
def test_trailing_silence_and_quiet_noise_are_not_speech(tail: str) -> None:
    """A second of silence or quiet line noise after the words leaves the end where it was."""
    audio = load_prompt("agent-pass").mulaw
    after = silence(1.0) if tail == "digital silence" else white_noise(1.0, dbfs=-60.0)
    assert end_ms(audio + after) == end_ms(audio)


def test_loud_noise_after_the_words_counts() -> None:
    """Noise above the threshold is sound the caller made: the end moves to its end (so the
    rule does not ignore everything after the words)."""
    audio = load_prompt("agent-pass").mulaw
    loud = white_noise(0.5, dbfs=-30.0)
    assert abs(end_ms(audio + silence(0.4) + loud) - (len(audio) // 8 + 400 + 500)) <= 20


def test_first_voiced_frame_skips_leading_silence() -> None:
    """Bot audio that begins with silence is dated at its first voiced frame; all-silence
    audio has none."""
    hello = load_prompt("hello").mulaw
    own = first_voiced_frame(hello)
    assert own is not None and own < 10  # the prompt's own lead-in is short
    assert first_voiced_frame(silence(0.3) + hello) == 15 + own
    assert first_voiced_frame(silence(0.5)) is None
    assert first_voiced_frame(white_noise(0.5, dbfs=-60.0)) is None
