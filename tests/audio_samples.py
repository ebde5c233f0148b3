"""Real 8 kHz telephone speech for tests: Debian's asterisk-core-sounds-en-wav prompts.

Also synthetic non-speech signals (tones, DTMF, white noise, silence).
``load_prompt("agent-pass")`` returns the prompt as mu-law bytes plus its transcript, or skips
the test with the apt command to run when the package is missing. The benchmarks use it too,
on the runtime install: it does not import pytest unless pytest is already running.
"""

from __future__ import annotations

import gzip
import re
import sys
import wave
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NoReturn

import numpy as np

from telephonist.audio import mulaw

SOUNDS = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
RATE = 8000
_INSTALL = "apt-get install asterisk-core-sounds-en-wav asterisk-core-sounds-en"


@dataclass(frozen=True)
class Prompt:
    """One recorded prompt: mu-law 8 kHz audio and what it says."""

    name: str
    mulaw: bytes
    text: str


def _missing(message: str) -> NoReturn:
    """Skip the test (under pytest), or stop a benchmark with the same hint."""
    if "pytest" in sys.modules:
        import pytest

        pytest.skip(message)
    raise SystemExit(f"missing test speech: {message}")


@cache
def _transcripts() -> dict[str, str]:
    if not TRANSCRIPTS.is_file():
        _missing(f"Asterisk prompt transcripts missing ({TRANSCRIPTS}); {_INSTALL}")
    lines = gzip.decompress(TRANSCRIPTS.read_bytes()).decode("utf-8").splitlines()
    pairs = (line.split(":", 1) for line in lines if ":" in line and not line.startswith(";"))
    return {name.strip(): text.strip() for name, text in pairs}


@cache
def load_prompt(name: str) -> Prompt:
    """The Asterisk prompt ``name`` as mu-law bytes and its transcript (skips if not installed)."""
    path = SOUNDS / f"{name}.wav"
    if not path.is_file():
        _missing(f"Asterisk prompt {path} missing; {_INSTALL}")
    with wave.open(str(path), "rb") as wav:
        if (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) != (8000, 2, 1):
            raise ValueError(f"{path} is not 8 kHz 16-bit mono")
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return Prompt(name, mulaw.encode(pcm), _transcripts()[name])


def plain_prompts(shortest_s: float, longest_s: float) -> list[Prompt]:
    """Every top-level prompt from ``shortest_s`` to ``longest_s`` long whose transcript is
    plain words (no digits or markup, so word error rates compare like with like), by name."""
    found: list[Prompt] = []
    for name, text in sorted(_transcripts().items()):
        path = SOUNDS / f"{name}.wav"
        if "/" in name or not path.is_file() or re.search(r"[\d\[\]*#]", text):
            continue
        with wave.open(str(path), "rb") as wav:
            if not shortest_s <= wav.getnframes() / RATE <= longest_s:
                continue
        found.append(load_prompt(name))
    return found


def normalise(text: str) -> list[str]:
    """Lower-case words without punctuation, for word-error comparisons."""
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance divided by the reference length (after `normalise`)."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, hyp_word in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ref_word != hyp_word))
    return row[-1] / max(len(ref), 1)


def tone(freqs: tuple[float, ...], seconds: float, dbfs: float = -10.0) -> bytes:
    """A sum of sines (e.g. a DTMF pair), peak at ``dbfs``."""
    t = np.arange(int(seconds * RATE)) / RATE
    wave = np.mean([np.sin(2 * np.pi * f * t) for f in freqs], axis=0)
    return mulaw.encode((wave * 32767 * 10 ** (dbfs / 20)).astype(np.int16))


def dtmf(digit_freqs: tuple[float, float] = (697.0, 1209.0), seconds: float = 2.0) -> bytes:
    """A DTMF tone ("1" by default)."""
    return tone(digit_freqs, seconds)


def white_noise(seconds: float, dbfs: float = -20.0, seed: int = 1) -> bytes:
    """Gaussian white noise at RMS ``dbfs``."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 32767 * 10 ** (dbfs / 20), int(seconds * RATE))
    return mulaw.encode(np.clip(noise, -32768, 32767).astype(np.int16))


def silence(seconds: float) -> bytes:
    """Digital silence (0xFF)."""
    return b"\xff" * int(seconds * RATE)
