"""The model's input features, checked against a slow reference written from the definitions
(explicit DFT, window and mel formulas), and on signals whose spectrum is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from telephonist.audio import mulaw
from telephonist.turn.features import (
    FRAMES,
    MEL_BINS,
    SAMPLE_RATE,
    log_mel,
    mel_filters,
    model_input,
    window,
)

N = 8 * SAMPLE_RATE


def slaney_mel(hz: float) -> float:
    """Slaney's scale, from its definition: 3 mel per 200 Hz, log-spaced above 1 kHz with
    27 mel per factor 6.4."""
    if hz < 1000.0:
        return hz / (200.0 / 3.0)
    return 15.0 + math.log(hz / 1000.0) / (math.log(6.4) / 27.0)


def slaney_hz(mel: float) -> float:
    """The inverse of `slaney_mel`."""
    if mel < 15.0:
        return mel * 200.0 / 3.0
    return 1000.0 * math.exp((mel - 15.0) * math.log(6.4) / 27.0)


def reference_filters() -> np.ndarray:
    """Triangles with apexes evenly spaced in mel, area-normalised (2 / width in Hz)."""
    top = slaney_mel(8000.0)
    edges = [slaney_hz(top * i / (MEL_BINS + 1)) for i in range(MEL_BINS + 2)]
    out = np.zeros((MEL_BINS, 201))
    for m in range(MEL_BINS):
        low, mid, high = edges[m], edges[m + 1], edges[m + 2]
        for k in range(201):
            f = k * SAMPLE_RATE / 400
            if low <= f <= mid:
                out[m, k] = (f - low) / (mid - low)
            elif mid < f <= high:
                out[m, k] = (high - f) / (high - mid)
        out[m] *= 2.0 / (high - low)
    return out


def reference_log_mel(audio: np.ndarray) -> np.ndarray:
    """Whisper's recipe, step by step with an explicit DFT matrix."""
    x = audio.astype(np.float64)
    x = (x - x.mean()) / math.sqrt(x.var() + 1e-7)
    x = np.concatenate([x[200:0:-1], x, x[-2:-202:-1]])  # reflect 200 samples each side
    hann = np.array([math.sin(math.pi * n / 400) ** 2 for n in range(400)])
    k = np.arange(201)[:, None]
    n = np.arange(400)[None, :]
    dft = np.exp(-2j * np.pi * k * n / 400)  # (201, 400)
    frames = np.stack([x[i * 160 : i * 160 + 400] * hann for i in range(FRAMES)])
    power = np.abs(frames @ dft.T) ** 2  # (800, 201); the 801st frame is dropped anyway
    mel = np.log10(np.maximum(power @ reference_filters().T, 1e-10)).T
    mel = np.maximum(mel, mel.max() - 8.0)
    return (mel + 4.0) / 4.0


def test_the_filter_bank_matches_its_definition() -> None:
    """80 triangles over 201 FFT bins, as the Slaney definition gives them."""
    assert mel_filters().shape == (MEL_BINS, 201)
    np.testing.assert_allclose(mel_filters(), reference_filters(), rtol=1e-9, atol=1e-12)


def test_features_match_the_reference_computation() -> None:
    """On noise plus a chirp, the image equals the slow reference (float32 rounding aside)."""
    rng = np.random.default_rng(7)
    t = np.arange(N) / SAMPLE_RATE
    audio = (0.05 * rng.standard_normal(N) + 0.3 * np.sin(2 * np.pi * (200 + 300 * t) * t)).astype(
        np.float32
    )
    image = log_mel(audio)
    assert image.shape == (MEL_BINS, FRAMES) and image.dtype == np.float32
    np.testing.assert_allclose(image, reference_log_mel(audio), atol=2e-4)


def test_a_tone_lights_the_mel_band_around_its_frequency() -> None:
    """A 1 kHz tone is loudest in the filter whose apex is nearest 1 kHz."""
    audio = np.sin(2 * np.pi * 1000 * np.arange(N) / SAMPLE_RATE).astype(np.float32)
    image = log_mel(audio)
    apexes = [slaney_hz(slaney_mel(8000.0) * (m + 1) / (MEL_BINS + 1)) for m in range(MEL_BINS)]
    nearest = int(np.argmin([abs(a - 1000.0) for a in apexes]))
    assert int(np.argmax(image[:, 400])) == nearest
    assert image.min() >= image.max() - 2.0 - 1e-6  # at most 8 decades below the peak


def test_a_short_clip_is_left_padded_to_eight_seconds() -> None:
    """One second of audio sits at the end of the window; the rest is zeros."""
    tone = mulaw.encode((np.sin(np.arange(8000) * 0.3) * 8000).astype(np.int16))
    samples = window(tone)
    assert samples.shape == (N,)
    assert not samples[: 7 * SAMPLE_RATE - 100].any()
    assert np.abs(samples[-SAMPLE_RATE:]).mean() > 0.1


def test_a_long_clip_keeps_its_last_eight_seconds() -> None:
    """Ten seconds: the first two are dropped, so the window starts with the later sound."""
    quiet = b"\xff" * 16000  # 2 s of silence, then 8 s of tone
    tone = mulaw.encode((np.sin(np.arange(64000) * 0.3) * 8000).astype(np.int16))
    samples = window(quiet + tone)
    assert np.abs(samples[200:SAMPLE_RATE]).mean() > 0.1


def test_a_batch_stacks_one_image_per_clip() -> None:
    """N clips make one (N, 80, 800) input; none makes an empty one."""
    clips = [b"\xff" * 800, mulaw.encode((np.sin(np.arange(4000)) * 5000).astype(np.int16))]
    batch = model_input(clips)
    assert batch.shape == (2, MEL_BINS, FRAMES) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch[1], log_mel(window(clips[1])))
    assert model_input([]).shape == (0, MEL_BINS, FRAMES)


def test_the_window_must_be_eight_seconds() -> None:
    """Any other length is a programming error, said plainly."""
    with pytest.raises(ValueError, match="8 s at 16 kHz"):
        log_mel(np.zeros(16000, dtype=np.float32))
