"""Resampling: whole signals and streamed chunks keep pitch, level and length."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from telephonist.audio.resample import Resampler, float_to_pcm16, resample


def sine(freq: float, rate: int, seconds: float = 1.0) -> npt.NDArray[np.float32]:
    """A 0.5-amplitude sine."""
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(signal: npt.NDArray[np.float32], rate: int) -> float:
    """The strongest frequency in ``signal``."""
    spectrum = np.abs(np.fft.rfft(signal))
    return float(np.fft.rfftfreq(len(signal), 1 / rate)[np.argmax(spectrum)])


def test_upsample_keeps_pitch_level_and_length() -> None:
    """1 s of 1 kHz at 8 kHz becomes 1 s of 1 kHz at 16 kHz, same amplitude."""
    out = resample(sine(1000, 8000), 8000, 16000)
    assert out.dtype == np.float32 and len(out) == 16000
    assert peak_hz(out, 16000) == 1000
    assert abs(float(np.abs(out[1000:-1000]).max()) - 0.5) < 0.01


def test_downsample_removes_content_above_the_new_nyquist() -> None:
    """A 6 kHz tone at 24 kHz is filtered out when going to 8 kHz (Nyquist 4 kHz)."""
    out = resample(sine(6000, 24000), 24000, 8000)
    assert len(out) == 8000 and np.abs(out[100:-100]).max() < 0.01


def test_int16_input_is_scaled_to_float() -> None:
    """int16 full scale maps to about 1.0; same rate is a plain conversion."""
    out = resample(np.array([16384, -32768], dtype=np.int16), 8000, 8000)
    assert out.tolist() == [0.5, -1.0]


def test_streamed_chunks_equal_the_whole_signal() -> None:
    """Feeding 20 ms chunks (last=True at the end) gives the one-shot result, no seams."""
    signal = sine(440, 24000)
    streamer = Resampler(24000, 8000)
    chunks = [
        streamer.process(signal[i : i + 480], last=i + 480 >= len(signal))
        for i in range(0, len(signal), 480)
    ]
    streamed = np.concatenate(chunks)
    assert abs(len(streamed) - 8000) <= 1
    whole = resample(signal, 24000, 8000)
    n = min(len(streamed), len(whole))
    assert np.abs(streamed[:n] - whole[:n]).max() < 1e-3


def test_same_rate_resampler_is_identity() -> None:
    """A Resampler between equal rates returns its input as float32."""
    signal = sine(440, 8000, 0.1)
    assert np.array_equal(Resampler(8000, 8000).process(signal), signal)


def test_float_to_pcm16_clips() -> None:
    """Out-of-range floats are clipped to the int16 range."""
    out = float_to_pcm16(np.array([2.0, -2.0, 0.5], dtype=np.float32))
    assert out.tolist() == [32767, -32767, 16383]
