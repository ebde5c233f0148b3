"""One Whisper pass over a short utterance, encoded in a window shorter than Whisper's 30 s.

faster-whisper pads every utterance to the 30 s window Whisper was trained on, and the encoder's
cost follows the window, not the speech: on Whisper tiny.en (int8, 2 threads) a 1-8 s phone
prompt takes a median 332 ms, of which the encoder is about 250. CTranslate2's encoder takes a
shorter window, so a 10 s window answers in a median 98 ms; on 238 recorded prompts the word
error rate is 5.9 % against 5.6 % with 30 s (``benchmarks/asr_window.py``).

Shorter windows than that, or windows fitted to the utterance itself, make Whisper loop: it
writes the sentence again and again until its token limit. So the window is fixed, a pass
may write at most a speaker's worth of tokens for the audio's length, and a pass that hits
that limit or repeats a run of tokens is not trusted: the caller then falls back to the full
30 s pass (3 of 238 prompts did). Everything else (the prompt, the temperature fallback,
the no-speech check) is faster-whisper's own, with the defaults its ``transcribe`` uses.

The pass also says how sure Whisper was that its words end a sentence: the probability it gave,
at the point where they end, to a full stop, question or exclamation mark. A caller cut off by
their own pause ("Please enter your password." of "...password, followed by the pound key")
is often written with a stop all the same, but a less certain one: on the recorded prompts of
``benchmarks/sentence_end.py``, words below 0.6 (with the cues in `telephonist.turn.unfinished`,
which uses it) mark 73 % of such cut sentences of three words or more, against 5 % of whole
prompts, most of those pieces of a sentence. The greedy pass returns each step's logits for
it at no measurable cost.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from faster_whisper.audio import pad_or_trim
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import TranscriptionOptions, WhisperModel, get_suppressed_tokens

__all__ = ["FULL_WINDOW_S", "Reading", "ShortWindow"]

FULL_WINDOW_S = 30
"""Whisper's own window: no short pass."""
_FRAMES_PER_S = 100
_TOKENS_PER_S = 7
"""More tokens than this per second of audio (plus `_SPARE_TOKENS`) is not speech: brisk
English is about 3 words, 4-5 tokens, a second."""
_SPARE_TOKENS = 10
_DEFAULTS = inspect.signature(WhisperModel.transcribe).parameters
_REPEATED_RUN = 6
"""A run of this many tokens written twice in one short utterance is Whisper looping."""


_STOP_CHARACTERS = frozenset(".?!\"')")


@dataclass(frozen=True, slots=True)
class Reading:
    """What one pass wrote."""

    text: str
    avg_logprob: float
    sentence_end: float | None = None
    """Whisper's probability that a sentence ends where ``text`` ends (None: not known)."""


def _stop_tokens(tokenizer: Tokenizer) -> list[int]:
    """The tokens that end a sentence: a stop, question or exclamation mark, alone or with
    closing quotes or brackets (not an ellipsis, which trails off)."""
    stops = []
    for token in range(tokenizer.eot):
        text = tokenizer.decode([token]).strip()
        ends = text[:1] in (".", "?", "!") and not text.startswith("..")
        if ends and set(text) <= _STOP_CHARACTERS:
            stops.append(token)
    return stops


class _GreedyLogits:
    """A WhisperModel as `WhisperModel.generate_with_fallback` uses it, whose greedy passes
    also return each step's logits: temperature 0 with beam 1 (CTranslate2 4.8 returns no
    usable logits from a beam search; the sampled fall-backs are left alone)."""

    def __init__(self, whisper: Any) -> None:
        self.model = self
        self._generate = whisper.model.generate
        self.max_length = whisper.max_length
        self.time_precision = whisper.time_precision
        self.logger = whisper.logger

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        if "sampling_temperature" not in kwargs and kwargs.get("beam_size") == 1:
            kwargs["return_logits_vocab"] = True
        return self._generate(*args, **kwargs)


def _repeats(tokens: list[int], run: int = _REPEATED_RUN) -> bool:
    seen: set[tuple[int, ...]] = set()
    for i in range(len(tokens) - run + 1):
        gram = tuple(tokens[i : i + run])
        if gram in seen:
            return True
        seen.add(gram)
    return False


class ShortWindow:
    """Short-window passes over one loaded ``faster_whisper.WhisperModel`` (thread-safe: the
    feature extractor is used without changing its window, and CTranslate2 runs concurrent
    passes)."""

    def __init__(self, model: Any, window_s: int, language: str) -> None:
        self.model = model
        self.frames = window_s * _FRAMES_PER_S
        self.tokenizer = Tokenizer(
            model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language
        )
        self._stops = _stop_tokens(self.tokenizer)
        self._greedy_logits = _GreedyLogits(model)
        # WhisperModel.transcribe's defaults (faster-whisper 1.2.1), as the local ASR calls it.
        self.options = TranscriptionOptions(
            beam_size=1,
            best_of=5,
            patience=1,
            length_penalty=1,
            repetition_penalty=1,
            no_repeat_ngram_size=0,
            log_prob_threshold=-1.0,
            no_speech_threshold=0.6,
            compression_ratio_threshold=2.4,
            condition_on_previous_text=False,
            prompt_reset_on_temperature=0.5,
            temperatures=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
            initial_prompt=None,
            prefix=None,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(self.tokenizer, [-1]),
            without_timestamps=True,
            max_initial_timestamp=1.0,
            word_timestamps=False,
            prepend_punctuations=_DEFAULTS["prepend_punctuations"].default,
            append_punctuations=_DEFAULTS["append_punctuations"].default,
            multilingual=False,
            max_new_tokens=None,
            clip_timestamps="0",
            hallucination_silence_threshold=None,
            hotwords=None,
        )

    def transcribe(
        self, samples: npt.NDArray[np.float32], beam_size: int, prompt: str | None
    ) -> list[Reading] | None:
        """What Whisper reads in 16 kHz ``samples`` (one part, or none when it hears no
        speech); None when they do not fit the window or the pass is not trusted (then use
        the full pass)."""
        features = self.model.feature_extractor(samples)[:, :-1]  # its last frame is padding
        if features.shape[-1] > self.frames:
            return None
        encoded = self.model.encode(pad_or_trim(features, self.frames))
        previous: list[int] = []
        if prompt:
            previous = self.tokenizer.encode(" " + prompt.strip())
        tokens = self.model.get_prompt(self.tokenizer, previous, without_timestamps=True)
        limit = min(
            int(_TOKENS_PER_S * len(samples) / 16000) + _SPARE_TOKENS,
            self.model.max_length - len(tokens),
        )
        options = replace(self.options, beam_size=beam_size, max_new_tokens=limit)
        result, avg_logprob, _temperature, _ratio = WhisperModel.generate_with_fallback(
            self._greedy_logits, encoded, tokens, self.tokenizer, options
        )
        quiet = self.options.no_speech_threshold, self.options.log_prob_threshold
        if result.no_speech_prob > quiet[0] and avg_logprob < quiet[1]:  # as the library skips
            return []
        written = result.sequences_ids[0]
        text = self.tokenizer.decode(written).strip()
        if not any(c.isalnum() for c in text):
            return []  # hiss often comes out as a row of full stops: no words either way
        if len(written) >= limit or _repeats(written):
            return None
        return [Reading(text, avg_logprob, self._sentence_end(result.logits, written))]

    def _sentence_end(self, logits: list[list[Any]], written: list[int]) -> float | None:
        """The probability of a sentence-ending token where ``written`` ends: at its own stop
        if it has one, else at its end of text. None without logits (a beam search, a sampled
        pass)."""
        steps = logits[0] if logits else []
        if not written or len(steps) <= len(written):
            return None
        at = len(written) - 1 if written[-1] in self._stops else len(written)
        row = np.asarray(steps[at], dtype=np.float64)
        odds = np.exp(row - row.max())
        return round(float(odds[self._stops].sum() / odds.sum()), 3)
