"""SpeechDetector edges: hysteresis, minimum durations and stream offsets."""

from __future__ import annotations

import pytest
from tests.audio_samples import load_prompt, silence

from telephonist.speech.vad.detector import SpeechDetector, VADEdge
from telephonist.speech.vad.energy import EnergyVAD
from telephonist.speech.vad.silero import SileroVAD


class ScriptedStream:
    """A VADStream whose probabilities are given per byte: one window per byte, 10 ms each."""

    window_ms = 10.0

    def probabilities(self, mulaw: bytes) -> list[float]:
        """Each byte is a probability in percent."""
        return [b / 100 for b in mulaw]


def run(probs: list[int], **kwargs: float) -> list[VADEdge]:
    """Feed percent probabilities one window at a time; all edges."""
    detector = SpeechDetector(ScriptedStream(), **kwargs)
    return [edge for p in probs for edge in detector.feed(bytes([p]))]


def test_start_needs_min_speech() -> None:
    """A 30 ms blip does not start speech; a 100 ms run does, dated at its first window."""
    assert run([0, 90, 90, 90, 0, 0], min_speech_ms=100) == []
    assert run([0, 0] + [90] * 10, min_speech_ms=100) == [VADEdge(True, 20.0, 120.0)]


def test_start_run_may_dip_above_neg_threshold() -> None:
    """Between neg_threshold and threshold the pending start survives; below it, it resets."""
    assert run([90, 40, 90, 90, 90], min_speech_ms=50) == [VADEdge(True, 0.0, 50.0)]
    assert run([90, 30, 90, 90, 90], min_speech_ms=50) == []


def test_end_needs_min_silence_and_speech_cancels_it() -> None:
    """Quiet for min_silence_ms ends speech at the first quiet window; a loud window resets."""
    speech = [90] * 10
    edges = run(speech + [10] * 3 + [90] + [10] * 5, min_speech_ms=0, min_silence_ms=50)
    assert edges == [VADEdge(True, 0.0, 10.0), VADEdge(False, 140.0, 190.0)]


def test_hysteresis_holds_speech_between_thresholds() -> None:
    """Probabilities between neg_threshold and threshold keep speech on."""
    edges = run([90] * 5 + [40] * 100, min_speech_ms=0, min_silence_ms=50)
    assert edges == [VADEdge(True, 0.0, 10.0)]


def test_invalid_settings_are_rejected() -> None:
    """Thresholds out of range or negative durations raise ValueError."""
    for kwargs in (
        {"threshold": 0.0},
        {"threshold": 0.5, "neg_threshold": 0.6},
        {"min_silence_ms": -1.0},
    ):
        with pytest.raises(ValueError):
            SpeechDetector(ScriptedStream(), **kwargs)


def test_prompt_silence_prompt_gives_two_utterances() -> None:
    """Silero + detector find both prompts, with ends near the real silence gaps."""
    first, second = load_prompt("agent-pass").mulaw, load_prompt("auth-thankyou").mulaw
    audio = first + silence(1.0) + second + silence(1.0)
    detector = SpeechDetector(SileroVAD().new_stream())
    edges = [e for i in range(0, len(audio), 160) for e in detector.feed(audio[i : i + 160])]
    assert [e.speaking for e in edges] == [True, False, True, False]
    first_ms, gap_end_ms = len(first) / 8, len(first) / 8 + 1000
    assert edges[0].offset_ms < 300
    assert first_ms - 400 < edges[1].offset_ms <= first_ms
    assert edges[1].detected_ms - edges[1].offset_ms == pytest.approx(512.0)
    assert gap_end_ms <= edges[2].offset_ms < gap_end_ms + 300
    assert edges[3].offset_ms <= gap_end_ms + len(second) / 8


def test_energy_model_works_with_the_detector() -> None:
    """The detector is model-agnostic: EnergyVAD's 20 ms windows give 20 ms offsets."""
    audio = silence(0.5) + load_prompt("auth-thankyou").mulaw + silence(1.0)
    detector = SpeechDetector(EnergyVAD().new_stream())
    edges = detector.feed(audio)
    assert [e.speaking for e in edges] == [True, False]
    assert all(e.offset_ms % 20 == 0 for e in edges)
    assert not detector.speaking and detector.position_ms == len(audio) // 160 * 20
