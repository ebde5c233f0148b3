"""The VAD seam: a shared `VADModel` hands out one cheap `VADStream` per call.

A stream takes mu-law 8 kHz audio and returns the speech probability of each complete
analysis window it could form. Turning probabilities into speech start/end edges (with
thresholds and hangover) is `telephonist.speech.vad.detector`'s job, so every model gets
the same, tested edge logic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["VADCapabilities", "VADModel", "VADStream"]


class VADStream(Protocol):
    """Per-call model state."""

    window_ms: float

    def probabilities(self, mulaw: bytes) -> list[float]:
        """Speech probability for each whole window completed by ``mulaw`` (in order)."""


@dataclass(frozen=True, slots=True)
class VADCapabilities:
    """What a model declares about itself."""

    threshold: float = 0.5
    """The speech probability threshold that suits the model (``vad.threshold`` overrides)."""
    batched: bool = False
    """Scoring is costly and releases the GIL: score every call's audio in shared batches on a
    worker thread (`telephonist.speech.vad.batcher`) instead of inline on the event loop."""


class VADModel(Protocol):
    """Loaded once per process; shared by all calls."""

    @property
    def capabilities(self) -> VADCapabilities:
        """How the model is best used."""

    def new_stream(self) -> VADStream:
        """Fresh per-call state."""

    def probabilities_batch(self, items: Sequence[tuple[VADStream, bytes]]) -> list[list[float]]:
        """For each (stream, audio) in order, the probabilities of the windows that audio
        completes; a stream appears at most once and must come from this model's
        ``new_stream``."""
