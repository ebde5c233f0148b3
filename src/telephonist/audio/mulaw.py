"""G.711 mu-law codec over lookup tables (numpy), bit-exact with the classic audioop codec.

audioop left the standard library in 3.13, so the codec is ours: two tables, built once.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["decode", "decode_float", "encode", "pcm16_bytes_to_mulaw", "silence"]

_BIAS = 0x84


def _decode_table() -> npt.NDArray[np.int16]:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _encode_table() -> npt.NDArray[np.uint8]:
    # The classic (Sun / audioop) encoder: 14-bit magnitude, bias 33, segment search.
    samples = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(samples < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(samples), 8159) + 0x21
    segment_ends = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
    segment = np.searchsorted(segment_ends, magnitude, side="left")
    codes = ((segment << 4) | ((magnitude >> (segment + 1)) & 0x0F)) ^ mask
    codes = np.where(segment >= 8, 0x7F ^ mask, codes)
    # Index by the uint16 view of an int16 sample: rotate so index 0 is sample 0.
    return np.roll(codes.astype(np.uint8), -32768)


_DECODE = _decode_table()
_DECODE_FLOAT = (_DECODE.astype(np.float32) / 32768.0).astype(np.float32)
_ENCODE = _encode_table()


def decode(mulaw: bytes) -> npt.NDArray[np.int16]:
    """Mu-law bytes to 16-bit linear samples."""
    return _DECODE[np.frombuffer(mulaw, dtype=np.uint8)]


def decode_float(mulaw: bytes) -> npt.NDArray[np.float32]:
    """Mu-law bytes to float samples in [-1, 1) in one lookup (what the models take)."""
    return _DECODE_FLOAT[np.frombuffer(mulaw, dtype=np.uint8)]


def encode(pcm: npt.NDArray[np.int16]) -> bytes:
    """16-bit linear samples to mu-law bytes."""
    return _ENCODE[pcm.astype(np.int16, copy=False).view(np.uint16)].tobytes()


def pcm16_bytes_to_mulaw(pcm: bytes) -> bytes:
    """Little-endian 16-bit PCM bytes to mu-law bytes."""
    return encode(np.frombuffer(pcm, dtype="<i2"))


def silence(n_bytes: int) -> bytes:
    """``n_bytes`` of mu-law silence (0xFF)."""
    return b"\xff" * n_bytes
