"""The turn-taking benchmark's corpus: real recorded speech, whole or with a pause spliced in,
and non-word sounds to play over the bot (8 kHz mu-law).

* ``complete``: a recorded Asterisk prompt as it is (Debian's ``asterisk-core-sounds-en-wav``,
  the speech the tests use): a caller saying one whole sentence.
* ``paused``: a prompt cut at a word gap in its middle, with silence or line noise inserted so
  that the caller pauses 300 to 800 ms between its last word before and its first word after
  (voiced frame to voiced frame, by the simulator's energy rule): a caller thinking mid-sentence.
  Word gaps are found from frame energy: runs of 10 ms windows 30 dB below the prompt's loudest
  window, at least 40 ms long, in the middle 60 % of the speech.
* ``noise``, ``backchannel``: non-word sounds (``barge_in_clips``: numpy noise bursts, and
  "okay", "yes", "mm-hm"... spoken by espeak-ng when installed, else by the local voice).

Everything is seeded: each run, and each rule in it, hears the same clips.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from barge_in_clips import BACKCHANNEL_WORDS, backchannels, noise_bursts  # noqa: E402
from tests.audio_samples import load_prompt  # noqa: E402

from telephonist.audio import mulaw  # noqa: E402
from telephonist.simulator.voicing import last_voiced_frame, voiced_frames  # noqa: E402

__all__ = ["PROMPTS", "TurnClip", "complete_clips", "corpus", "paused_clips", "word_gaps"]

RATE = 8000
WINDOW = 80  # 10 ms
PROMPTS = (
    "agent-pass",
    "agent-newlocation",
    "conf-getpin",
    "conf-getconfno",
    "vm-password",
    "vm-whichbox",
    "dir-instr",
    "pbx-invalid",
    "conf-invalidpin",
    "vm-newpassword",
    "queue-callswaiting",
    "privacy-prompt",
)
"""Prompts of one sentence (1.5 to 4 s) with word gaps in their middle."""


@dataclass(frozen=True)
class TurnClip:
    """One thing the caller plays: ``kind`` is complete, paused, noise or backchannel."""

    name: str
    kind: str
    mulaw: bytes
    text: str
    """What was said (empty for noise): the scripted ASR's transcript of it."""
    pause_ms: tuple[int, int] | None = None
    """For ``paused``: the pause, from its start to its end in ms into the clip (voiced frame to
    voiced frame, 20 ms frames)."""

    @property
    def words(self) -> bool:
        """Whether it holds words that should reach the assistant as a turn."""
        return self.kind in ("complete", "paused")


def word_gaps(audio: bytes, min_ms: int = 40) -> list[tuple[int, int]]:
    """Quiet runs between words, as (start, end) byte offsets into ``audio``: 10 ms windows
    30 dB below the loudest, ``min_ms`` or longer, inside the middle 60 % of the speech."""
    pcm = mulaw.decode(audio).astype(np.float64)
    n = len(pcm) // WINDOW
    rms = np.sqrt(np.mean(pcm[: n * WINDOW].reshape(n, WINDOW) ** 2, axis=1)) + 1e-9
    loud = rms > rms.max() * 10 ** (-30 / 20)
    spoken = np.flatnonzero(loud)
    if len(spoken) < 2:
        return []
    first, last = int(spoken[0]), int(spoken[-1])
    low, high = first + 0.2 * (last - first), first + 0.8 * (last - first)
    gaps, start = [], None
    for i in range(first, last + 1):
        if not loud[i] and start is None:
            start = i
        elif loud[i] and start is not None:
            if (i - start) * 10 >= min_ms and low <= (start + i) / 2 <= high:
                gaps.append((start * WINDOW, i * WINDOW))
            start = None
    return gaps


def complete_clips(count: int) -> list[TurnClip]:
    """``count`` whole prompts (cycling through `PROMPTS`)."""
    clips = []
    for i in range(count):
        prompt = load_prompt(PROMPTS[i % len(PROMPTS)])
        clips.append(TurnClip(f"{prompt.name}-{i}", "complete", prompt.mulaw, prompt.text))
    return clips


def _voiced_around(audio: bytes, at: int) -> tuple[int, int]:
    """The last voiced frame ending before byte ``at`` and the first after it, as ms."""
    voiced = voiced_frames(audio)
    frame = at // 160
    before = np.flatnonzero(voiced[:frame])
    after = np.flatnonzero(voiced[frame:])
    end = (int(before[-1]) + 1) * 20 if len(before) else 0
    start = (frame + int(after[0])) * 20 if len(after) else len(audio) // 8
    return end, start


def paused_clips(count: int, seed: int = 23) -> list[TurnClip]:
    """``count`` prompts cut at a middle word gap, paused 300 to 800 ms there (silence, or line
    noise at -65 dBFS)."""
    rng = np.random.default_rng(seed)
    clips: list[TurnClip] = []
    i = 0
    while len(clips) < count:
        prompt = load_prompt(PROMPTS[i % len(PROMPTS)])
        i += 1
        gaps = word_gaps(prompt.mulaw)
        if not gaps:
            if i > 4 * len(PROMPTS):
                raise SystemExit("no recorded prompt has a word gap to cut at")
            continue
        start, end = gaps[int(rng.integers(len(gaps)))]
        cut = (start + end) // 2 // 160 * 160  # on a frame edge
        target_ms = int(rng.uniform(300, 800)) // 20 * 20
        before_end, after_start = _voiced_around(prompt.mulaw, cut)
        insert = max(0, target_ms - (after_start - before_end)) * 8
        if len(clips) % 2:
            noise = rng.normal(0.0, 32767 * 10 ** (-65 / 20), insert)
            filler = mulaw.encode(np.clip(noise, -32768, 32767).astype(np.int16))
            kind = "noise"
        else:
            filler, kind = b"\xff" * insert, "silence"
        audio = prompt.mulaw[:cut] + filler + prompt.mulaw[cut:]
        pause = _voiced_around(audio, cut + insert // 2)
        name = f"{prompt.name}-{len(clips)}-{pause[1] - pause[0]}ms-{kind}"
        clips.append(TurnClip(name, "paused", audio, prompt.text, pause))
    return clips


def corpus(per_kind: int) -> list[TurnClip]:
    """``per_kind`` complete and paused sentences, noise bursts and backchannel words."""
    noises = [TurnClip(c.name, "noise", c.mulaw, "") for c in noise_bursts(per_kind)]
    words = [
        TurnClip(c.name, "backchannel", c.mulaw, _word(c.name)) for c in backchannels(per_kind)
    ]
    return complete_clips(per_kind) + paused_clips(per_kind) + noises + words


def _word(name: str) -> str:
    """The backchannel word a clip named ``WORD-VOICE-I`` says."""
    return next(word for word in BACKCHANNEL_WORDS if name.startswith(f"{word}-"))


def speech_end_ms(clip: TurnClip) -> int | None:
    """Where the clip's speech ends by the simulator's rule (ms into it)."""
    last = last_voiced_frame(clip.mulaw)
    return None if last is None else (last + 1) * 20
