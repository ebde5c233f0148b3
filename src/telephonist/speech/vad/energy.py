"""A model-free VAD: the RMS level of each 20 ms window, mapped to a 0..1 pseudo-probability.

It costs next to nothing and needs no model file, which makes it handy for benchmarks, tests and
quiet lines (``vad: {name: energy}``). It cannot tell speech from tones, music or noise: loud
is "speech". Levels are in dBFS (0 dBFS = a full-scale square wave); the mapping is linear from
``silence_dbfs`` (probability 0) to ``speech_dbfs`` (probability 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from telephonist.audio import mulaw
from telephonist.audio.formats import MULAW_BYTES_PER_MS
from telephonist.speech.registry import ProviderContext
from telephonist.speech.vad.base import VADCapabilities, VADStream

__all__ = ["EnergyStream", "EnergyVAD", "from_config"]

_FLOOR_DBFS = -120.0


class EnergyStream:
    """Per-call state: the bytes of a window not yet complete."""

    def __init__(self, model: EnergyVAD) -> None:
        self._model = model
        self.window_ms: float = model.window_ms
        self._window_bytes = int(model.window_ms * MULAW_BYTES_PER_MS)
        self._pending = b""

    def probabilities(self, mulaw_audio: bytes) -> list[float]:
        """Pseudo-probability for each whole window completed by ``mulaw_audio`` (in order)."""
        data = self._pending + mulaw_audio
        whole = len(data) - len(data) % self._window_bytes
        self._pending = data[whole:]
        if not whole:
            return []
        samples = mulaw.decode(data[:whole]).astype(np.float64) / 32768.0
        windows = samples.reshape(-1, self._window_bytes)
        rms = np.sqrt(np.mean(windows * windows, axis=1))
        dbfs = 20.0 * np.log10(np.maximum(rms, 10.0 ** (_FLOOR_DBFS / 20.0)))
        return [self._model.probability(float(level)) for level in dbfs]


class EnergyVAD:
    """Shared energy "model" (a `VADModel`)."""

    def __init__(
        self, silence_dbfs: float = -55.0, speech_dbfs: float = -35.0, window_ms: float = 20.0
    ) -> None:
        if speech_dbfs <= silence_dbfs:
            raise ValueError("speech_dbfs must be above silence_dbfs")
        if window_ms <= 0 or (window_ms * MULAW_BYTES_PER_MS) % 1:
            raise ValueError("window_ms must be a positive multiple of 1/8 ms")
        self.silence_dbfs = silence_dbfs
        self.speech_dbfs = speech_dbfs
        self.window_ms = window_ms
        self.capabilities = VADCapabilities(threshold=0.5, batched=False)
        """Cheap enough to score inline on the event loop: batching would only add a thread hop."""

    def probability(self, dbfs: float) -> float:
        """The pseudo-probability of a window at level ``dbfs``."""
        span = self.speech_dbfs - self.silence_dbfs
        return min(1.0, max(0.0, (dbfs - self.silence_dbfs) / span))

    def new_stream(self) -> EnergyStream:
        """Fresh per-call state."""
        return EnergyStream(self)

    def probabilities_batch(self, items: Sequence[tuple[VADStream, bytes]]) -> list[list[float]]:
        """Each stream's probabilities in turn (there is no inference to share)."""
        return [stream.probabilities(audio) for stream, audio in items]


def from_config(config: Mapping[str, Any], context: ProviderContext) -> EnergyVAD:
    """Build from ``vad: {name: energy, silence_dbfs: -55, speech_dbfs: -35, window_ms: 20}``."""
    values: dict[str, float] = {}
    for key, value in config.items():
        if key not in ("silence_dbfs", "speech_dbfs", "window_ms"):
            raise context.error(
                f"unknown key {key!r}; energy takes silence_dbfs, speech_dbfs, window_ms", key=key
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise context.error("must be a number", key=key)
        values[key] = float(value)
    try:
        return EnergyVAD(**values)
    except ValueError as exc:
        raise context.error(str(exc)) from exc
