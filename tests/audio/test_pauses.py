"""Phrase boundaries in synthesised speech: quiet runs long enough to be pauses, not the gaps
inside words, and where a cut phrase restarts."""

from __future__ import annotations

import numpy as np

from telephonist.audio import mulaw
from telephonist.audio.pauses import LEAD_IN_MS, find_pauses, phrase_start

MS = 8  # mu-law bytes per millisecond


def tone(ms: int, level: float = 8000.0) -> bytes:
    """A 300 Hz tone of ``ms``."""
    t = np.arange(ms * MS) / 8000
    return mulaw.encode((np.sin(2 * np.pi * 300 * t) * level).astype(np.int16))


def quiet(ms: int, level: float = 0.0, seed: int = 3) -> bytes:
    """``ms`` of silence, or of faint noise at ``level``."""
    noise = np.random.default_rng(seed).normal(0.0, level, ms * MS) if level else np.zeros(ms * MS)
    return mulaw.encode(noise.astype(np.int16))


def test_pauses_are_long_quiet_runs_and_word_gaps_are_not():
    """A 300 ms comma pause and faint room noise count; a 60 ms gap between words does not;
    leading and trailing silence are pauses too."""
    audio = quiet(200) + tone(500) + quiet(60) + tone(400) + quiet(300, 40) + tone(600) + quiet(250)
    pauses = find_pauses(audio)
    assert len(pauses) == 3
    assert pauses[0] == (0, 200 * MS)
    comma = (200 + 500 + 60 + 400) * MS
    assert (
        abs(pauses[1][0] - comma) <= 10 * MS and abs(pauses[1][1] - (comma + 300 * MS)) <= 10 * MS
    )
    assert pauses[2][1] == len(audio)
    assert find_pauses(b"") == [] and find_pauses(tone(1000)) == []


def test_a_cut_phrase_restarts_just_before_its_first_sound():
    """The restart is the last pause that began at or before the cut, minus a short lead-in;
    a cut inside a pause restarts the phrase after it; before any pause, the message start."""
    pauses = [(1000, 3400), (9000, 9800)]
    lead_in = LEAD_IN_MS * MS
    assert phrase_start(pauses, 500) == 0
    assert phrase_start(pauses, 5000) == 3400 - lead_in
    assert phrase_start(pauses, 2000) == 3400 - lead_in  # inside the pause
    assert phrase_start(pauses, 9000) == 9800 - lead_in
    assert phrase_start([(1000, 1100)], 5000) == 1000  # a short pause: from its start
