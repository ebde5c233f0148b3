"""The mu-law codec is bit-exact with the classic audioop codec."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from telephonist.audio import mulaw

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    audioop = pytest.importorskip("audioop", reason="audioop left the stdlib in Python 3.13")

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = bytes(range(256))


def test_encode_matches_audioop_for_every_int16() -> None:
    """All 65,536 sample values encode to audioop's code."""
    assert mulaw.encode(ALL_INT16) == audioop.lin2ulaw(ALL_INT16.astype("<i2").tobytes(), 2)


def test_decode_matches_audioop_for_every_code() -> None:
    """All 256 codes decode to audioop's sample."""
    expected = np.frombuffer(audioop.ulaw2lin(ALL_CODES, 2), dtype="<i2")
    assert np.array_equal(mulaw.decode(ALL_CODES), expected)


def test_silence_is_0xff_and_decodes_to_zero() -> None:
    """Zero encodes to 0xFF, and silence() is 0xFF bytes that decode to zeros."""
    assert mulaw.encode(np.zeros(4, dtype=np.int16)) == b"\xff" * 4
    assert mulaw.silence(160) == b"\xff" * 160
    assert not mulaw.decode(mulaw.silence(160)).any()


def test_round_trip_is_stable() -> None:
    """decode(encode(decode(c))) == decode(c): every code is a fixed point of the codec."""
    decoded = mulaw.decode(ALL_CODES)
    assert np.array_equal(mulaw.decode(mulaw.encode(decoded)), decoded)


def test_pcm16_bytes_to_mulaw_reads_little_endian() -> None:
    """Little-endian PCM bytes give the same codes as the int16 array."""
    assert mulaw.pcm16_bytes_to_mulaw(ALL_INT16.astype("<i2").tobytes()) == mulaw.encode(ALL_INT16)
