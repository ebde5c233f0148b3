"""Pauses in synthesised speech: where a phrase may be restarted without cutting a word.

Voices pause at commas and full stops (≈150 to 800 ms) but hardly between words (≈40 to 80 ms, the
closure of a stop consonant), so quiet runs of at least ``min_ms``, well below the loudest
part, are phrase boundaries. Pure: mu-law bytes in, byte offsets out.
"""

from __future__ import annotations

import numpy as np

from telephonist.audio import mulaw
from telephonist.audio.formats import MULAW_BYTES_PER_MS

__all__ = ["find_pauses", "phrase_start"]

WINDOW_MS = 10
MIN_PAUSE_MS = 150
BELOW_PEAK_DB = 35.0
LEAD_IN_MS = 100
"""Silence kept before a restarted phrase, so it does not start abruptly."""


def find_pauses(
    audio: bytes, *, min_ms: int = MIN_PAUSE_MS, below_peak_db: float = BELOW_PEAK_DB
) -> list[tuple[int, int]]:
    """``(start, end)`` byte offsets of the quiet runs of at least ``min_ms`` in mu-law
    ``audio`` (quiet: ``below_peak_db`` under its loudest 10 ms); digital silence always counts."""
    window = WINDOW_MS * MULAW_BYTES_PER_MS
    n = len(audio) // window
    if n == 0:
        return []
    pcm = mulaw.decode(audio[: n * window]).astype(np.float32).reshape(n, window)
    power = np.mean(pcm * pcm, axis=1)
    floor = float(power.max()) * 10 ** (-below_peak_db / 10)
    quiet = np.concatenate(([False], power <= floor, [False]))
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    runs = zip(edges[::2], edges[1::2], strict=True)
    pauses = [
        (int(a) * window, len(audio) if b == n else int(b) * window)
        for a, b in runs
        if (b - a) * WINDOW_MS >= min_ms
    ]
    return pauses


def phrase_start(pauses: list[tuple[int, int]], position: int) -> int:
    """Where to restart so the listener hears the phrase playing at ``position`` from its
    beginning: just before the speech that follows the last pause starting at or before
    ``position`` (a position inside a pause restarts the phrase after it), else 0."""
    lead_in = LEAD_IN_MS * MULAW_BYTES_PER_MS
    start = 0
    for begin, end in pauses:
        if begin > position:
            break
        start = max(begin, end - lead_in)
    return start
