"""The local ASR's short encoder window: real prompts in 10 s, the full 30 s pass for what
does not fit or is not trusted, and the ``window_s`` key."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tests.audio_samples import load_prompt, silence, white_noise, word_error_rate

from telephonist.audio import mulaw
from telephonist.audio.resample import resample
from telephonist.errors import ConfigError
from telephonist.speech.asr.local import LocalASR
from telephonist.speech.asr.local_config import from_config
from telephonist.speech.asr.whisper_model import bundled_model_path
from telephonist.speech.asr.whisper_window import ShortWindow, _repeats
from telephonist.speech.registry import ProviderContext

CONTEXT = ProviderContext(file="credentials.yml", key="twilio_media_streams.asr", environ={})
NAMES = ("agent-pass", "conf-getpin", "all-circuits-busy-now", "vm-goodbye")


def samples(audio: bytes) -> Any:
    """Mu-law 8 kHz as the local ASR hands it to Whisper: 16 kHz float32."""
    return resample(mulaw.decode(audio), 8000, 16000)


def test_a_run_of_tokens_written_twice_is_a_loop() -> None:
    """Whisper looping in a short window writes the same sentence again: six tokens repeated
    in order are caught, repeated words in another order or a short run are not."""
    assert _repeats([1, 2, 3, 4, 5, 6, 9, 1, 2, 3, 4, 5, 6])
    assert not _repeats([1, 2, 3, 4, 5, 9, 1, 2, 3, 4, 5])
    assert not _repeats([7, 7, 7, 7, 7])
    assert _repeats([7] * 7)


def test_window_s_is_checked() -> None:
    """``window_s`` defaults to 10 s; it must be a whole number of seconds from 1 to 30."""
    with pytest.raises(ConfigError, match=r"asr\.window_s: must be an integer >= 1"):
        from_config({"window_s": 0}, CONTEXT)
    with pytest.raises(ConfigError, match=r"asr\.window_s: must be an integer >= 1"):
        from_config({"window_s": "10s"}, CONTEXT)
    with pytest.raises(ConfigError, match=r"asr\.window_s: must be at most 30"):
        from_config({"window_s": 31}, CONTEXT)
    if bundled_model_path() is not None:
        assert from_config({}, CONTEXT).window_s == 10
        assert from_config({"window_s": 30}, CONTEXT).window_s == 30


@pytest.mark.slow
def test_real_prompts_in_the_short_window_read_as_in_the_full_one(local_asr: LocalASR) -> None:
    """Recorded prompts are read in the 10 s window (no fall-back) as well as in 30 s."""
    model = local_asr.load().model
    window = ShortWindow(model, 10, "en")
    for name in NAMES:
        prompt = load_prompt(name)
        parts = window.transcribe(samples(prompt.mulaw), 1, None)
        assert parts is not None and len(parts) == 1, name
        assert word_error_rate(prompt.text, parts[0].text) <= 0.15, parts


@pytest.mark.slow
def test_a_sentence_cut_by_a_pause_ends_less_surely(local_asr: LocalASR) -> None:
    """Whisper writes a stop after a sentence cut at a word gap too ("Please enter your
    path."), but gives it a lower probability than the whole sentence's own; the full 30 s
    pass and a beam search do not say (None)."""
    asr = LocalASR(window_s=10)
    asr._loaded = local_asr.load()
    quiet = silence(0.1)
    for name, cut_ms in (("agent-pass", 1050), ("conf-getconfno", 1350)):
        audio = load_prompt(name).mulaw
        whole = asr.transcribe(audio + quiet, "en")
        cut = asr.transcribe(audio[: cut_ms * 8] + quiet, "en")
        assert whole is not None and cut is not None, name
        assert cut.text.endswith(".") and len(cut.text.split()) >= 3, cut
        assert whole.sentence_end is not None and whole.sentence_end >= 0.8, whole
        assert cut.sentence_end is not None and cut.sentence_end < 0.7, cut
    for other in (LocalASR(window_s=30), LocalASR(window_s=10, beam_size=5)):
        other._loaded = asr._loaded
        final = other.transcribe(load_prompt("agent-pass").mulaw, "en")
        assert final is not None and final.sentence_end is None


@pytest.mark.slow
def test_no_speech_in_the_short_window_is_no_words(local_asr: LocalASR) -> None:
    """Silence and hiss give no words, as the full pass's no-speech check does."""
    window = ShortWindow(local_asr.load().model, 10, "en")
    for audio in (silence(2.0), white_noise(1.5, dbfs=-35.0)):
        parts = window.transcribe(samples(audio), 1, None)
        assert parts is not None and not any(part.text for part in parts), parts


@pytest.mark.slow
def test_what_does_not_fit_or_loops_is_read_in_the_full_window(local_asr: LocalASR) -> None:
    """An utterance longer than the window, or a pass that writes a run of tokens twice,
    is left to the full 30 s pass, whose text the Final carries."""
    model = local_asr.load().model
    long = b"".join(load_prompt(n).mulaw for n in NAMES * 2)
    assert len(long) > 10 * 8000
    assert ShortWindow(model, 10, "en").transcribe(samples(long), 1, None) is None

    class LoopingDecoder:
        """The real CTranslate2 model, whose every pass writes its first tokens twice."""

        def __getattr__(self, name: str) -> Any:
            return getattr(model.model, name)

        def generate(self, *args: Any, **kwargs: Any) -> list[Any]:
            result = model.model.generate(*args, **kwargs)[0]
            tokens = result.sequences_ids[0][:6] * 2
            fields = {"sequences_ids": [tokens], "scores": result.scores, "logits": []}
            return [type("Result", (), {**fields, "no_speech_prob": 0.0})]

    class Looping:
        """The real model with the looping decoder."""

        model = LoopingDecoder()

        def __getattr__(self, name: str) -> Any:
            return getattr(model, name)

    asr = LocalASR(window_s=10)
    asr._loaded = local_asr.load()
    asr._windows["en"] = ShortWindow(Looping(), 10, "en")
    prompt = load_prompt("agent-pass")
    assert asr._windows["en"].transcribe(samples(prompt.mulaw), 1, None) is None
    final = asr.transcribe(prompt.mulaw, "en")
    assert final is not None and word_error_rate(prompt.text, final.text) <= 0.15
    assert final.confidence is not None and np.isfinite(final.confidence)
