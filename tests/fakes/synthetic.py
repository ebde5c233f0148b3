"""Deterministic "speech" for fake TTS servers: audio a test can map back to its text."""

from __future__ import annotations

import hashlib

__all__ = ["synthetic_audio"]


def synthetic_audio(text: str, *, bytes_per_char: int = 40) -> bytes:
    """Mu-law bytes standing for ``text``: its SHA-256 repeated to 40 bytes per character."""
    seed = hashlib.sha256(text.encode("utf-8")).digest()
    size = max(len(text), 1) * bytes_per_char
    return (seed * (size // len(seed) + 1))[:size]
