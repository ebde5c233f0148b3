"""The ``turn:`` block of the ``twilio_media_streams`` channel: when the caller's turn ends.

```yaml
turn:
  model: smart-turn    # or none: the turn ends after vad.min_silence_ms of silence, as before
  pause_ms: 200        # the pause after which the model judges the turn
  speculate_ms: 100    # the model starts scoring after this much quiet (null: at pause_ms)
  max_wait_ms: 2000    # the longest pause the turn may hold (judged incomplete) before it ends
  rescore_ms: 300      # while judged incomplete, the pause is scored again this much later
  threshold: 0.5       # the model's probability of "complete" that ends the turn
  max_cpu: 0.5         # the model's share of one core; pauses beyond it are left to silence
  unfinished_wait_ms: 1500  # words that stop mid-sentence wait this long after the pause began
  unfinished_words: [a, the, to, and, ...]  # words a sentence does not end on (English)
  unfinished_below: 0.6  # or words the recogniser ends a sentence with less surely (0: off)
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telephonist.config.keys import reject_unknown
from telephonist.errors import ConfigError

__all__ = [
    "DEFAULT_THRESHOLD",
    "MODELS",
    "UNFINISHED_BELOW",
    "UNFINISHED_WORDS",
    "TurnSettings",
    "parse_turn",
]

MODELS = ("smart-turn", "none")
DEFAULT_THRESHOLD = 0.5
"""The model's probability of "complete" that ends a turn at once: the model's own. 0.85 was
measured with the local engines on read prompts with a pause spliced mid-sentence: it cut into
24 of 60 such sentences over five runs against 11 of 24 at 0.5, within the runs' spread, while
some whole sentences waited for the next score or to ``max_wait_ms`` (p95 0.7-2.1 s against
0.5 s; ``benchmarks/turn_taking.py``)."""
UNFINISHED_WORDS: tuple[str, ...] = (
    *("a", "an", "the", "my", "your", "our", "their", "its"),
    *("to", "for", "with", "from", "into"),
    *("and", "or", "but", "because", "if"),
    *("um", "uh", "er", "erm"),
)
"""English words a sentence does not end on: articles and possessives, prepositions that need
their object, conjunctions, fillers. Words that often do end one ("this", "that", "in", "on",
"of", "you", "I", "can") are left out on purpose: a wrong "unfinished" costs the caller a
wait, a missed one only what the turn model would have done anyway."""

UNFINISHED_BELOW = 0.6
"""Words of three or more that the recogniser gives a sentence end less likely than this
sound unfinished. On 424 recorded prompts, whole and cut at a word gap, with the local Whisper
(``benchmarks/sentence_end.py``), it marks half the cut ones (a third without it), and of the
whole ones only prompts that really stop mid-phrase ("The number I have is") and spelled
letters; 0.7 marks 5 more cut ones of 272 for 6 whole sentences ("One moment please.")."""


@dataclass(frozen=True)
class TurnSettings:
    """How the end of the caller's turn is decided."""

    model: str = "smart-turn"
    """``smart-turn``: a short pause, then the model judges whether the turn is complete;
    ``none``: the turn ends after ``vad.min_silence_ms`` of silence."""
    pause_ms: int = 200
    max_wait_ms: int = 2000
    threshold: float = DEFAULT_THRESHOLD
    max_cpu: float = 0.5
    """Seconds of model inference per second the process may spend (a share of one core);
    pauses the budget cannot cover end by silence, as with ``model: none``."""
    speculate_ms: int | None = 100
    """Quiet after which the model starts scoring; its answer waits for ``pause_ms`` (and is
    dropped if the caller speaks first), so its inference time passes within the pause."""
    unfinished_wait_ms: int = 1500
    """Words that stop mid-sentence (`telephonist.turn.unfinished`) wait until this long after
    the pause began for the caller to go on (the turn then continues); 0: they go at once."""
    unfinished_words: tuple[str, ...] = UNFINISHED_WORDS
    """Lower-case words a sentence does not end on (for the caller's language)."""
    unfinished_below: float = UNFINISHED_BELOW
    """Words (three or more) whose sentence end the recogniser gives a probability below
    this stop mid-sentence too (`Final.sentence_end`: the local ASR's); 0: never."""
    rescore_ms: int = 300
    """While the pause is judged incomplete, it is scored again after this much more pause."""

    @property
    def uses_model(self) -> bool:
        """A model judges the end of the turn."""
        return self.model != "none"


def _number(block: Mapping[str, Any], key: str, default: float, file: str, where: str) -> float:
    value = block.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"must be a number, got {value!r}", file=file, key=f"{where}.{key}")
    return float(value)


def parse_turn(value: Any, *, file: str, key: str) -> TurnSettings:
    """Validate the block (absent: the defaults); errors name ``key`` and the field."""
    if value is None:
        return TurnSettings()
    if not isinstance(value, Mapping):
        raise ConfigError("must be a mapping (e.g. {model: none})", file=file, key=key)
    reject_unknown(
        value,
        (
            "model",
            "pause_ms",
            "speculate_ms",
            "max_wait_ms",
            "rescore_ms",
            "threshold",
            "max_cpu",
            "unfinished_wait_ms",
            "unfinished_words",
            "unfinished_below",
        ),
        file,
        key,
    )
    model = value.get("model", "smart-turn")
    if model not in MODELS:
        raise ConfigError(
            f"must be one of {', '.join(MODELS)}, got {model!r}", file=file, key=f"{key}.model"
        )
    pause = _number(value, "pause_ms", 200, file, key)
    wait = _number(value, "max_wait_ms", 2000, file, key)
    threshold = _number(value, "threshold", DEFAULT_THRESHOLD, file, key)
    if not 20 <= pause <= 5000 or pause != int(pause):
        raise ConfigError(
            "must be a whole number of ms from 20 to 5000", file=file, key=f"{key}.pause_ms"
        )
    if not pause <= wait <= 30000 or wait != int(wait):
        raise ConfigError(
            "must be a whole number of ms from pause_ms to 30000",
            file=file,
            key=f"{key}.max_wait_ms",
        )
    rescore = _number(value, "rescore_ms", 300, file, key)
    if not 20 <= rescore <= 30000 or rescore != int(rescore):
        raise ConfigError(
            "must be a whole number of ms from 20 to 30000", file=file, key=f"{key}.rescore_ms"
        )
    if not 0.0 < threshold < 1.0:
        raise ConfigError("must be between 0 and 1", file=file, key=f"{key}.threshold")
    max_cpu = _number(value, "max_cpu", 0.5, file, key)
    if not 0.0 < max_cpu <= 64.0:
        raise ConfigError(
            "must be a share of one core above 0 (e.g. 0.5; 2 = two cores)",
            file=file,
            key=f"{key}.max_cpu",
        )
    speculate = value.get("speculate_ms", 100)
    if speculate is not None and (
        isinstance(speculate, bool)
        or not isinstance(speculate, int)
        or not 20 <= speculate <= pause
    ):
        raise ConfigError(
            f"must be a whole number of ms from 20 to pause_ms ({int(pause)}), or null, "
            f"got {speculate!r}",
            file=file,
            key=f"{key}.speculate_ms",
        )
    unfinished_wait = _number(value, "unfinished_wait_ms", 1500, file, key)
    if not 0 <= unfinished_wait <= 30000 or unfinished_wait != int(unfinished_wait):
        raise ConfigError(
            "must be a whole number of ms from 0 (off) to 30000",
            file=file,
            key=f"{key}.unfinished_wait_ms",
        )
    unfinished_below = _number(value, "unfinished_below", UNFINISHED_BELOW, file, key)
    if not 0.0 <= unfinished_below <= 1.0:
        raise ConfigError(
            "must be a probability from 0 (off) to 1", file=file, key=f"{key}.unfinished_below"
        )
    return TurnSettings(
        model=str(model),
        pause_ms=int(pause),
        speculate_ms=None if speculate is None or speculate >= pause else speculate,
        max_wait_ms=int(wait),
        threshold=threshold,
        max_cpu=max_cpu,
        unfinished_wait_ms=int(unfinished_wait),
        unfinished_words=_words(value.get("unfinished_words"), file, f"{key}.unfinished_words"),
        unfinished_below=unfinished_below,
        rescore_ms=int(rescore),
    )


def _words(value: Any, file: str, key: str) -> tuple[str, ...]:
    """A list of single words, lower-cased (absent: `UNFINISHED_WORDS`; [] : none)."""
    if value is None:
        return UNFINISHED_WORDS
    if not isinstance(value, list) or not all(
        isinstance(w, str) and w.strip() and len(w.split()) == 1 for w in value
    ):
        raise ConfigError(
            f"must be a list of single words (e.g. [a, the, and]), got {value!r}",
            file=file,
            key=key,
        )
    return tuple(w.strip().lower() for w in value)
