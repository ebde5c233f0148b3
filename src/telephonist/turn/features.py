"""What the end-of-turn model hears: the caller's last 8 s as a Whisper-style log-mel image.

Smart Turn v3 is a Whisper encoder with a small classifier head, trained on 16 kHz audio. Its
input is the log-mel spectrogram Whisper's feature extractor computes over an 8 s window:

* the telephone audio (8 kHz mu-law) is upsampled to 16 kHz (soxr), cut to its last 8 s or
  left-padded with zeros to 8 s (128 000 samples): the end of the turn is always at the right;
* the waveform is normalised to zero mean and unit variance (padding included);
* a centred short-time Fourier transform (400-point periodic Hann window, hop 160, reflected
  edges) gives 801 power spectra; 80 triangular mel filters (Slaney scale and area
  normalisation, 0-8 kHz) project them; the last frame is dropped (800 frames of 10 ms);
* ``log10`` (floored at 1e-10), clamped to 8 decades below the image's maximum, then mapped
  by ``(x + 4) / 4`` to roughly [-1, 1].

Pure numpy; no event loop, no model.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

from telephonist.audio import mulaw
from telephonist.audio.resample import resample

__all__ = [
    "FRAMES",
    "MEL_BINS",
    "SAMPLE_RATE",
    "WINDOW_S",
    "log_mel",
    "mel_filters",
    "model_input",
    "window",
]

SAMPLE_RATE = 16000
WINDOW_S = 8
MEL_BINS = 80
N_FFT = 400
HOP = 160
FRAMES = WINDOW_S * SAMPLE_RATE // HOP
"""800 frames of 10 ms."""
_SAMPLES = WINDOW_S * SAMPLE_RATE


def _hz_to_mel(hz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Slaney's mel scale: linear (3 mel per 200 Hz) below 1 kHz, logarithmic above."""
    linear = 3.0 * hz / 200.0
    logarithmic = 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) * (27.0 / np.log(6.4))
    return np.where(hz >= 1000.0, logarithmic, linear)


def _mel_to_hz(mel: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    linear = 200.0 * mel / 3.0
    logarithmic = 1000.0 * np.exp((mel - 15.0) * (np.log(6.4) / 27.0))
    return np.where(mel >= 15.0, logarithmic, linear)


@cache
def mel_filters() -> npt.NDArray[np.float64]:
    """The ``(80, 201)`` filter bank: triangles evenly spaced in mel between 0 and 8 kHz, each
    scaled so its area is the same (Slaney normalisation)."""
    edges = _mel_to_hz(np.linspace(0.0, _hz_to_mel(np.array(SAMPLE_RATE / 2.0)), MEL_BINS + 2))
    bins = np.linspace(0.0, SAMPLE_RATE / 2.0, N_FFT // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    triangles = np.maximum(0.0, np.minimum(rising, falling))
    filters: npt.NDArray[np.float64] = triangles * (2.0 / (upper - lower))
    return filters


@cache
def _hann() -> npt.NDArray[np.float64]:
    """Periodic Hann window (the DFT-even one spectrogram code uses)."""
    n = np.arange(N_FFT)
    window: npt.NDArray[np.float64] = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / N_FFT)
    return window


def window(mulaw_8k: bytes) -> npt.NDArray[np.float32]:
    """The model's 8 s of 16 kHz float audio for mu-law 8 kHz ``mulaw_8k``: its last 8 s,
    left-padded with zeros when shorter."""
    samples = resample(mulaw.decode(mulaw_8k), 8000, SAMPLE_RATE)[-_SAMPLES:]
    out = np.zeros(_SAMPLES, dtype=np.float32)
    if samples.size:
        out[-samples.size :] = samples
    return out


def log_mel(audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The ``(80, 800)`` normalised log-mel image of an 8 s, 16 kHz ``window``."""
    if audio.shape != (_SAMPLES,):
        raise ValueError(f"expected {_SAMPLES} samples (8 s at 16 kHz), got {audio.shape}")
    x = audio.astype(np.float32)
    x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    padded = np.pad(x.astype(np.float64), N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * _hann(), axis=-1)) ** 2  # (801, 201)
    mel = np.log10(np.maximum(power @ mel_filters().T, 1e-10)).T[:, :-1]  # (80, 800)
    mel = np.maximum(mel, mel.max() - 8.0)
    image: npt.NDArray[np.float32] = ((mel + 4.0) / 4.0).astype(np.float32)
    return image


def model_input(clips: list[bytes]) -> npt.NDArray[np.float32]:
    """The ``(N, 80, 800)`` batch for N mu-law 8 kHz clips (each ending where the turn may)."""
    return (
        np.stack([log_mel(window(clip)) for clip in clips])
        if clips
        else np.zeros((0, MEL_BINS, FRAMES), dtype=np.float32)
    )
