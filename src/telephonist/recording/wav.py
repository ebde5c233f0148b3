"""Stereo 16-bit 8 kHz WAV files that stay readable while they grow and after a crash.

Each append patches the header's sizes, so a file cut short by a killed server is still a
valid WAV up to its last append; `read_pcm` trusts the file's length over the header anyway.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from telephonist.audio import mulaw
from telephonist.audio.formats import SAMPLE_RATE

__all__ = ["HEADER_BYTES", "append", "create", "read_pcm", "stereo_pcm", "write"]

CHANNELS = 2
SAMPLE_BYTES = 2
HEADER_BYTES = 44


def _header(data_bytes: int) -> bytes:
    block = CHANNELS * SAMPLE_BYTES
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        CHANNELS,
        SAMPLE_RATE,
        SAMPLE_RATE * block,
        block,
        8 * SAMPLE_BYTES,
        b"data",
        data_bytes,
    )


def stereo_pcm(caller: bytes, bot: bytes) -> bytes:
    """Interleaved 16-bit samples from two mu-law tracks of equal length: caller left."""
    stereo = np.empty((len(caller), CHANNELS), dtype="<i2")
    stereo[:, 0] = mulaw.decode(caller)
    stereo[:, 1] = mulaw.decode(bot)
    return stereo.tobytes()


def create(path: Path) -> None:
    """An empty WAV (a header for no samples)."""
    path.write_bytes(_header(0))


def append(path: Path, pcm: bytes) -> int:
    """Add interleaved samples and patch the header; returns the file's new size."""
    with path.open("r+b") as file:
        end = file.seek(0, 2)
        file.write(pcm)
        size = end + len(pcm)
        file.seek(4)
        file.write(struct.pack("<I", size - 8))
        file.seek(40)
        file.write(struct.pack("<I", size - HEADER_BYTES))
    return size


def write(path: Path, pcm: bytes) -> None:
    """A whole WAV at once."""
    path.write_bytes(_header(len(pcm)) + pcm)


def read_pcm(path: Path) -> bytes:
    """The interleaved samples of a WAV this module wrote (whole frames only)."""
    data = path.read_bytes()[HEADER_BYTES:]
    block = CHANNELS * SAMPLE_BYTES
    return data[: len(data) - len(data) % block]
