"""SileroVAD on real telephone speech and on non-speech signals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.audio_samples import dtmf, load_prompt, silence, white_noise

from telephonist.errors import ConfigError
from telephonist.speech.registry import ProviderContext
from telephonist.speech.vad import silero
from telephonist.speech.vad.silero import SileroVAD

WHISPER_COPY = silero._package_dir("faster_whisper")


@pytest.fixture(scope="module")
def vad() -> SileroVAD:
    """The default model, loaded once for the module."""
    return SileroVAD()


def frames(audio: bytes, size: int = 160) -> list[bytes]:
    """Split audio into Twilio-sized 20 ms frames."""
    return [audio[i : i + size] for i in range(0, len(audio), size)]


def test_default_model_runs_natively_at_8k(vad: SileroVAD) -> None:
    """silero-vad's own file is found by path and used at 8 kHz with 32 ms windows."""
    assert vad.kind == "silero8k"
    assert vad.path.name == "silero_vad.onnx"
    assert vad.new_stream().window_ms == 32.0


def test_speech_prompt_scores_high(vad: SileroVAD) -> None:
    """Most windows of a real prompt are speech."""
    probs = vad.new_stream().probabilities(load_prompt("agent-pass").mulaw)
    assert len(probs) == len(load_prompt("agent-pass").mulaw) // 256
    assert np.mean(np.array(probs) > 0.5) > 0.7


@pytest.mark.parametrize(
    "audio", [silence(2.0), dtmf(), white_noise(3.0)], ids=["silence", "dtmf", "white-noise"]
)
def test_non_speech_scores_low(vad: SileroVAD, audio: bytes) -> None:
    """Silence, a DTMF tone and white noise never reach the speech threshold."""
    assert max(vad.new_stream().probabilities(audio)) < 0.3


def test_frame_by_frame_equals_one_call(vad: SileroVAD) -> None:
    """Feeding 20 ms frames gives the same probabilities as feeding everything at once."""
    audio = load_prompt("auth-thankyou").mulaw
    stream = vad.new_stream()
    framed = [p for frame in frames(audio) for p in stream.probabilities(frame)]
    assert framed == pytest.approx(vad.new_stream().probabilities(audio), abs=1e-5)


def test_streams_keep_separate_state(vad: SileroVAD) -> None:
    """Speech in one stream does not leak into a stream fed silence."""
    vad.new_stream().probabilities(load_prompt("agent-pass").mulaw)
    assert max(vad.new_stream().probabilities(silence(1.0))) < 0.1


def test_batch_matches_single(vad: SileroVAD) -> None:
    """One batched inference gives each stream what it would get on its own."""
    clips = [load_prompt("agent-pass").mulaw, silence(1.5), load_prompt("auth-thankyou").mulaw]
    expected = [vad.new_stream().probabilities(clip) for clip in clips]
    streams = [vad.new_stream() for _ in clips]
    got: list[list[float]] = [[] for _ in clips]
    for offset in range(0, max(map(len, clips)), 480):
        items = [(s, c[offset : offset + 480]) for s, c in zip(streams, clips, strict=True)]
        for out, probs in zip(got, vad.probabilities_batch(items), strict=True):
            out.extend(probs)
    for want, have in zip(expected, got, strict=True):
        assert have == pytest.approx(want, abs=1e-4)


@pytest.mark.skipif(WHISPER_COPY is None, reason="faster-whisper not installed")
def test_faster_whisper_copy_as_fallback() -> None:
    """The 16 kHz copy inside faster-whisper also separates speech from silence."""
    assert WHISPER_COPY is not None
    model = SileroVAD(WHISPER_COPY / "assets" / "silero_vad_v6.onnx")
    assert model.kind == "whisper16k"
    assert model.capabilities.threshold < 0.5
    speech = model.new_stream().probabilities(load_prompt("agent-pass").mulaw)
    assert np.mean(np.array(speech) > model.capabilities.threshold) > 0.7
    assert max(model.new_stream().probabilities(silence(1.0) + dtmf())) < 0.3


def test_find_model_falls_back_then_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without silero-vad the faster-whisper copy is chosen; with neither, a ConfigError."""
    real = silero._package_dir
    monkeypatch.setattr(
        silero, "_package_dir", lambda name: None if name == "silero_vad" else real(name)
    )
    if WHISPER_COPY is not None:
        assert silero.find_model()[1] == "whisper16k"
    monkeypatch.setattr(silero, "_package_dir", lambda name: None)
    with pytest.raises(ConfigError, match="no-deps silero-vad"):
        silero.find_model()


def test_missing_model_path_is_config_error(tmp_path: Path) -> None:
    """A model_path that does not exist fails at construction."""
    with pytest.raises(ConfigError, match="not found"):
        SileroVAD(tmp_path / "nope.onnx")


def test_from_config_validates_keys(tmp_path: Path) -> None:
    """Unknown keys and missing model files are ConfigErrors naming the key."""
    context = ProviderContext(file="credentials.yml", key="vad", environ={})
    assert silero.from_config({}, context).kind in ("silero8k", "whisper16k")
    with pytest.raises(ConfigError, match=r"vad\.threshold: unknown key"):
        silero.from_config({"threshold": 0.5}, context)
    with pytest.raises(ConfigError, match=r"vad\.model_path: .*not found"):
        silero.from_config({"model_path": str(tmp_path / "x.onnx")}, context)


def test_quiet_windows_after_silence_are_not_scored() -> None:
    """Settled silence costs no inference and scores 0; the state it leaves is the one speech
    found at the start of a call, so a prompt after 2 s of silence scores as on a fresh
    stream; quiet gaps inside speech are still scored; a second prompt is heard."""
    prompt = load_prompt("agent-pass").mulaw
    lead = b"\xff" * 256 * 64  # 2 s, whole windows
    audio = lead + prompt + silence(3.0) + prompt
    gated, ungated = SileroVAD(), SileroVAD(gate_dbfs=None)
    probs = gated.new_stream().probabilities(audio)
    assert len(probs) == len(ungated.new_stream().probabilities(audio))
    assert ungated.gated == 0
    assert gated.gated > 0.8 * (len(lead) + len(silence(3.0))) // 256
    first = probs[64 : 64 + len(prompt) // 256]
    assert first == pytest.approx(SileroVAD().new_stream().probabilities(prompt), abs=1e-5)
    assert probs[:64] == [0.0] * 64
    second = len(probs) - len(prompt) // 256
    assert np.mean(np.array(probs[second:]) > 0.5) > 0.7  # the second prompt is heard


def test_gate_setting_is_validated() -> None:
    """gate_dbfs takes a level or null, and names the key when it is wrong."""
    context = ProviderContext(file="credentials.yml", key="vad", environ={})
    assert silero.from_config({"gate_dbfs": None}, context).gate_dbfs is None
    assert silero.from_config({"gate_dbfs": -50}, context).gate_dbfs == -50.0
    with pytest.raises(ConfigError, match=r"vad\.gate_dbfs: must be a level"):
        silero.from_config({"gate_dbfs": "loud"}, context)
