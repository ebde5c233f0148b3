"""The VAD seam: a shared `VADModel` hands out one cheap `VADStream` per call.

A stream takes mu-law 8 kHz audio and returns the speech probability of each complete
analysis window it could form. Turning probabilities into speech start/end edges (with
thresholds and hangover) is `telephonist.speech.vad.detector`'s job, so every model gets
the same, tested edge logic.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["VADModel", "VADStream"]


class VADStream(Protocol):
    """Per-call model state."""

    window_ms: float

    def probabilities(self, mulaw: bytes) -> list[float]:
        """Speech probability for each whole window completed by ``mulaw`` (in order)."""


class VADModel(Protocol):
    """Loaded once per process; shared by all calls."""

    def new_stream(self) -> VADStream: ...
