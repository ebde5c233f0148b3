"""Reading what a test call left in the recordings folder (and the simulator's own WAV)."""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tests.audio_samples import load_prompt

from telephonist.simulator.runner import SimulatedCall

SPEED = 5.0
SILENT = 200
"""A 16-bit sample quieter than this is silence (mu-law 0xFF decodes to 0)."""


class PromptVoice:
    """Speaks a recorded prompt whatever the text (real speech for the server's VAD)."""

    async def speak(self, text: str) -> bytes:
        """The prompt's mu-law audio, in whole 20 ms frames (as Twilio sends them)."""
        audio = load_prompt("agent-pass").mulaw
        return audio[: len(audio) - len(audio) % 160]


def simulated(served: Any, **kwargs: Any) -> SimulatedCall:
    """A fast simulated call to ``served`` with real recorded speech."""
    caller = kwargs.pop("caller", None) or served.caller()
    return SimulatedCall(caller, voice=PromptVoice(), speed=SPEED, **kwargs)


def stereo(path: Path) -> npt.NDArray[np.int16]:
    """A stereo 16-bit 8 kHz WAV as an (n, 2) array: caller, bot."""
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)


def segment_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The finished WAVs and transcripts under ``folder``."""
    return sorted(folder.glob("*/*.wav")), sorted(folder.glob("*/*.json"))


def only_segment(folder: Path) -> tuple[npt.NDArray[np.int16], dict[str, Any]]:
    """The single finished segment's audio and transcript."""
    wavs, transcripts = segment_files(folder)
    assert len(wavs) == 1 and len(transcripts) == 1, (wavs, transcripts)
    assert ".partial" not in wavs[0].name
    return stereo(wavs[0]), json.loads(transcripts[0].read_text())


def loud(track: npt.NDArray[np.int16]) -> npt.NDArray[np.intp]:
    """Indices of the samples that are not silence."""
    return np.flatnonzero(np.abs(track.astype(np.int32)) > SILENT)


def best_shift(
    ours: npt.NDArray[np.int16], theirs: npt.NDArray[np.int16], within: int
) -> tuple[int, float]:
    """The shift (samples; positive: ours is later) at which the two tracks agree most, and
    the share of samples that are then identical."""
    best = (0, -1.0)
    n = min(len(ours), len(theirs)) - within
    for shift in range(-within, within + 1, 8):
        a = ours[within + shift : n + shift]
        b = theirs[within:n]
        share = float(np.mean(a == b))
        if share > best[1]:
            best = (shift, share)
    return best


def runs(indices: npt.NDArray[np.intp], gap: int = 400) -> list[tuple[int, int]]:
    """Stretches of sound (first and last index), split at silences over ``gap`` samples."""
    if not len(indices):
        return []
    breaks = np.flatnonzero(np.diff(indices) > gap)
    starts = [int(indices[0]), *(int(indices[i + 1]) for i in breaks)]
    ends = [*(int(indices[i]) for i in breaks), int(indices[-1])]
    return list(zip(starts, ends, strict=True))
