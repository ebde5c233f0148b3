"""Speech start/end edges from a `VADStream`'s per-window probabilities.

Pure and clock-free: every time is an offset in milliseconds into the audio fed so far, derived
from the number of whole windows the stream scored. The rules follow Silero's own
``VADIterator``, with hysteresis:

* Not speaking: a run of windows at or above ``threshold`` (it may dip to ``neg_threshold`` but not
  below) lasting ``min_speech_ms`` starts speech, dated at the run's first window.
* Speaking: windows below ``neg_threshold`` for ``min_silence_ms`` end speech, dated at the first
  quiet window; a window at or above ``threshold`` cancels the pending end.

Short ``min_speech_ms`` suits barge-in; ``min_silence_ms`` is the end-of-utterance hangover.
"""

from __future__ import annotations

from dataclasses import dataclass

from telephonist.speech.vad.base import VADStream

__all__ = ["SpeechDetector", "VADEdge"]


@dataclass(frozen=True, slots=True)
class VADEdge:
    """Speech started (``speaking`` True) or ended at ``offset_ms`` into the stream.

    ``detected_ms`` is the stream offset at which the edge became certain (the end of the window
    that decided it); ``detected_ms - offset_ms`` is the delay the rules added.
    """

    speaking: bool
    offset_ms: float
    detected_ms: float


class SpeechDetector:
    """Turns one stream's probabilities into `VADEdge`s."""

    def __init__(
        self,
        stream: VADStream,
        threshold: float = 0.5,
        *,
        neg_threshold: float | None = None,
        min_speech_ms: float = 100.0,
        min_silence_ms: float = 500.0,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        neg = max(threshold - 0.15, 0.01) if neg_threshold is None else neg_threshold
        if not 0.0 <= neg <= threshold:
            raise ValueError("neg_threshold must be in [0, threshold]")
        if min_speech_ms < 0 or min_silence_ms < 0:
            raise ValueError("min_speech_ms and min_silence_ms must not be negative")
        self.stream = stream
        self.threshold = threshold
        self.neg_threshold = neg
        self.min_speech_ms = min_speech_ms
        self.min_silence_ms = min_silence_ms
        self.speaking = False
        self._windows = 0
        self._candidate: int | None = None
        self._quiet_from: int | None = None

    @property
    def position_ms(self) -> float:
        """How much audio has been scored so far (whole windows only)."""
        return self._windows * self.stream.window_ms

    @property
    def quiet_ms(self) -> float:
        """How long the caller has been quiet within speech (an end not yet certain); 0 when
        not speaking or not quiet."""
        if not self.speaking or self._quiet_from is None:
            return 0.0
        return (self._windows - self._quiet_from) * self.stream.window_ms

    def feed(self, mulaw: bytes) -> list[VADEdge]:
        """Feed mu-law 8 kHz audio (any length); the edges it completes, in order."""
        return self.feed_probabilities(self.stream.probabilities(mulaw))

    def feed_probabilities(self, probabilities: list[float]) -> list[VADEdge]:
        """Advance with probabilities already computed (e.g. by a batched model call)."""
        edges: list[VADEdge] = []
        for probability in probabilities:
            edge = self._step(probability)
            if edge is not None:
                edges.append(edge)
        return edges

    def _step(self, p: float) -> VADEdge | None:
        index = self._windows
        self._windows += 1
        window_ms = self.stream.window_ms
        if not self.speaking:
            if p >= self.threshold and self._candidate is None:
                self._candidate = index
            elif p < self.neg_threshold:
                self._candidate = None
            if (
                self._candidate is not None
                and (index + 1 - self._candidate) * window_ms >= self.min_speech_ms
            ):
                self.speaking = True
                start, self._candidate = self._candidate, None
                return VADEdge(True, start * window_ms, self._windows * window_ms)
            return None
        if p >= self.threshold:
            self._quiet_from = None
        elif p < self.neg_threshold and self._quiet_from is None:
            self._quiet_from = index
        if (
            self._quiet_from is not None
            and (index + 1 - self._quiet_from) * window_ms >= self.min_silence_ms
        ):
            self.speaking = False
            end, self._quiet_from = self._quiet_from, None
            return VADEdge(False, end * window_ms, self._windows * window_ms)
        return None
