"""Sample-rate conversion with soxr, as a small stateful object for streamed audio."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import soxr

__all__ = ["Resampler", "float_to_pcm16", "resample"]


def resample(
    samples: npt.NDArray[np.floating] | npt.NDArray[np.int16], in_rate: int, out_rate: int
) -> npt.NDArray[np.float32]:
    """Resample a whole signal (float or int16) to float32 at ``out_rate``."""
    audio = _as_float(samples)
    if in_rate == out_rate:
        return audio
    return np.asarray(soxr.resample(audio, in_rate, out_rate, quality="HQ"), dtype=np.float32)


def float_to_pcm16(samples: npt.NDArray[np.floating]) -> npt.NDArray[np.int16]:
    """Float samples in [-1, 1] to int16, clipped."""
    clipped: npt.NDArray[np.floating] = np.clip(samples, -1.0, 1.0)
    return (clipped * 32767.0).astype(np.int16)


def _as_float(samples: npt.NDArray[np.floating] | npt.NDArray[np.int16]) -> npt.NDArray[np.float32]:
    if samples.dtype == np.int16:
        return samples.astype(np.float32) / 32768.0
    return samples.astype(np.float32, copy=False)


class Resampler:
    """Streaming resampler: feed chunks, get converted chunks with no seams between them."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._stream = None
        if in_rate != out_rate:
            self._stream = soxr.ResampleStream(in_rate, out_rate, 1, "float32", "HQ")

    def process(
        self, samples: npt.NDArray[np.floating] | npt.NDArray[np.int16], last: bool = False
    ) -> npt.NDArray[np.float32]:
        """Convert one chunk; pass ``last=True`` on the final chunk to flush the filter."""
        audio = _as_float(samples)
        if self._stream is None:
            return audio
        return np.asarray(self._stream.resample_chunk(audio, last=last), dtype=np.float32)
