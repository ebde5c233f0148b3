"""Audio format facts for Twilio's telephone audio."""

from __future__ import annotations

__all__ = [
    "FRAME_BYTES",
    "FRAME_MS",
    "MULAW_BYTES_PER_MS",
    "MULAW_SILENCE",
    "SAMPLE_RATE",
    "duration_ms",
]

SAMPLE_RATE = 8000
"""Twilio Media Streams carry 8 kHz mono mu-law, one byte per sample."""

MULAW_BYTES_PER_MS = SAMPLE_RATE // 1000
FRAME_MS = 20
FRAME_BYTES = FRAME_MS * MULAW_BYTES_PER_MS
MULAW_SILENCE = 0xFF
"""Mu-law code for zero amplitude. 0x00 is the loudest negative sample: never pad with it."""


def duration_ms(mulaw_bytes: int) -> float:
    """Playing time of ``mulaw_bytes`` bytes of 8 kHz mu-law."""
    return mulaw_bytes / MULAW_BYTES_PER_MS
