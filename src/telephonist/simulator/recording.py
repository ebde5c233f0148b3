"""The call's audio on disk: caller WAVs in (any rate), the stereo recording out.

The recording has the caller on the left channel and the bot on the right, 8 kHz 16-bit,
time-aligned: both tracks advance together by one 20 ms frame per tick of the simulated line,
so the bot's audio sits exactly where the caller heard it (cleared audio is never heard and
never recorded).
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from telephonist.audio import mulaw
from telephonist.audio.formats import FRAME_BYTES, MULAW_BYTES_PER_MS, SAMPLE_RATE
from telephonist.audio.resample import float_to_pcm16, resample
from telephonist.errors import ConfigError

__all__ = ["Recording", "read_wav_mulaw"]


class Recording:
    """Two mu-law tracks of equal length, one frame per tick."""

    def __init__(self) -> None:
        self.caller = bytearray()
        self.bot = bytearray()

    def add(self, caller: bytes, bot: bytes) -> None:
        """One tick: the caller's frame and what the bot played (each padded to a frame)."""
        self.caller += caller.ljust(FRAME_BYTES, b"\xff")[:FRAME_BYTES]
        self.bot += bot.ljust(FRAME_BYTES, b"\xff")[:FRAME_BYTES]

    @property
    def duration_s(self) -> float:
        """Length of the recording."""
        return len(self.caller) / MULAW_BYTES_PER_MS / 1000

    def write(self, path: Path) -> None:
        """Write a stereo 16-bit 8 kHz WAV: caller left, bot right."""
        stereo = np.empty((len(self.caller), 2), dtype="<i2")
        stereo[:, 0] = mulaw.decode(bytes(self.caller))
        stereo[:, 1] = mulaw.decode(bytes(self.bot))
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(2)
            wav.setsampwidth(2)
            wav.setframerate(SAMPLE_RATE)
            wav.writeframes(stereo.tobytes())


def read_wav_mulaw(path: Path) -> bytes:
    """A WAV file (8/16/32-bit PCM, any rate, mono or mixed down) as 8 kHz mu-law."""
    try:
        with wave.open(str(path), "rb") as wav:
            rate, width, channels = wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
            raw = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise ConfigError(f"cannot read WAV: {exc}", file=str(path)) from None
    if width == 1:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128) / 128
    elif width == 2:
        samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768
    elif width == 4:
        samples = np.frombuffer(raw, dtype="<i4").astype(np.float32) / 2**31
    else:
        raise ConfigError(
            f"{8 * width}-bit WAV is not supported (use 8, 16 or 32-bit PCM)", file=str(path)
        )
    mono = samples.reshape(-1, channels).mean(axis=1) if channels > 1 else samples
    return mulaw.encode(float_to_pcm16(resample(mono, rate, SAMPLE_RATE)))
