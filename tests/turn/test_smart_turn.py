"""The real Smart Turn model on real recorded telephone speech (Asterisk prompts, 8 kHz): a
whole sentence sounds more finished than the same sentence cut at a pause in its middle."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from tests.audio_samples import load_prompt

from telephonist.audio import mulaw
from telephonist.errors import ConfigError
from telephonist.turn.smart_turn import MODEL_SHA256, SmartTurnModel, find_model

PAUSE = b"\xff" * 1600  # the 200 ms pause after which the model is asked
SENTENCES = ("queue-thankyou", "vm-enter-num-to-call", "vm-savemessage", "conf-onlyperson")


@pytest.fixture(scope="module")
def model() -> SmartTurnModel:
    """The installed model, loaded once."""
    loaded = SmartTurnModel()
    loaded.load()
    return loaded


def cut_mid_sentence(audio: bytes) -> bytes:
    """The prompt up to its quietest 20 ms between a third and two thirds in: a gap between
    words, so the cut sentence sounds like a mid-sentence pause, not a clipped word."""
    pcm = np.abs(mulaw.decode(audio).astype(np.float32))
    frames = len(pcm) // 160
    energy = pcm[: frames * 160].reshape(frames, 160).mean(axis=1)
    low, high = frames // 3, 2 * frames // 3
    return audio[: (low + int(np.argmin(energy[low:high]))) * 160]


@pytest.mark.parametrize("name", SENTENCES)
def test_a_whole_sentence_scores_higher_than_the_same_one_cut(
    model: SmartTurnModel, name: str
) -> None:
    """Ordering, not fixed numbers: complete > cut mid-sentence, each followed by a pause."""
    audio = load_prompt(name).mulaw
    whole, cut = model.completeness([audio + PAUSE, cut_mid_sentence(audio) + PAUSE])
    assert 0.0 <= cut < whole <= 1.0, (name, whole, cut)


def test_a_batch_scores_each_clip_as_it_would_alone(model: SmartTurnModel) -> None:
    """Batching changes nothing about a clip's score."""
    clips = [load_prompt(name).mulaw + PAUSE for name in SENTENCES[:3]]
    together = model.completeness(clips)
    alone = [model.completeness([clip])[0] for clip in clips]
    np.testing.assert_allclose(together, alone, atol=1e-4)
    assert model.completeness([]) == []


def test_the_installed_file_is_the_verified_one() -> None:
    """scripts/install puts the model where it is looked for, with the expected digest."""
    import hashlib

    assert hashlib.sha256(find_model().read_bytes()).hexdigest() == MODEL_SHA256


def test_a_file_with_another_digest_is_refused(tmp_path: Path) -> None:
    """A changed model file is a clear error naming the file and both digests, not a quiet
    change of behaviour."""
    copy = tmp_path / "smart-turn.onnx"
    shutil.copyfile(find_model(), copy)
    with copy.open("r+b") as f:
        f.seek(-1, 2)
        last = f.read(1)
        f.seek(-1, 2)
        f.write(bytes([last[0] ^ 0xFF]))
    with pytest.raises(ConfigError, match=f"{copy}.*expected {MODEL_SHA256}.*reinstall"):
        SmartTurnModel(copy).load()
