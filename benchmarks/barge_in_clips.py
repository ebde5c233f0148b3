"""Caller sounds to play over bot speech, for barge-in measurements (8 kHz mu-law).

Non-word clips: noise bursts and cough-like bursts made with numpy (seeded, so every run and
every rule hears the same ones), and backchannel words ("mm-hm", "yeah", ...) spoken by
Debian's espeak-ng in several voices (``apt-get install espeak-ng``), or by the project's own
local voice when espeak-ng is missing. Real interruptions: recorded telephone speech (Debian's
Asterisk prompts, as the tests use).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.audio_samples (recorded test speech)

from tests.audio_samples import load_prompt  # noqa: E402

from telephonist.audio import mulaw  # noqa: E402
from telephonist.audio.resample import float_to_pcm16, resample  # noqa: E402

__all__ = [
    "BACKCHANNEL_WORDS",
    "INTERRUPTION_PROMPTS",
    "Clip",
    "backchannels",
    "coughs",
    "hums",
    "laughs",
    "noise_bursts",
    "non_word_clips",
    "real_interruptions",
]

RATE = 8000
BACKCHANNEL_WORDS = {
    "mm-hm": "[[@m'h@m]]",
    "uh-huh": "uh huh",
    "yeah": "yeah",
    "okay": "okay",
    "right": "right",
    "mmm-hmm": "mmm hmm",
    "yes": "yes",
    "sure": "sure",
}
"""Each word and what espeak-ng is given to say it: written "mm-hm" or "mhm" it spells out
(em, aitch, em), so "mm-hm" goes in as phonemes."""
ESPEAK_VOICES = ("en-us", "en-us+m3", "en+f2", "en-gb+m1", "en-us+f4")
INTERRUPTION_PROMPTS = (
    "agent-pass",
    "agent-newlocation",
    "conf-getpin",
    "conf-getconfno",
    "vm-intro",
    "vm-password",
    "vm-newuser",
    "vm-whichbox",
    "queue-callswaiting",
    "dir-instr",
    "privacy-prompt",
    "pbx-invalid",
)
"""Asterisk prompts whose first seconds stand in for a caller talking over the bot."""


@dataclass(frozen=True)
class Clip:
    """One caller sound: ``kind`` is noise, cough, laugh, hum, backchannel or speech (real
    words)."""

    name: str
    kind: str
    mulaw: bytes

    @property
    def words(self) -> bool:
        """A real interruption: the bot should stop for good."""
        return self.kind == "speech"

    @property
    def ms(self) -> int:
        """Its length."""
        return len(self.mulaw) // 8


def _encode(samples: npt.NDArray[np.float64], peak_dbfs: float) -> bytes:
    """Float samples scaled to ``peak_dbfs`` at their loudest, as mu-law."""
    peak = float(np.max(np.abs(samples))) or 1.0
    scaled = samples / peak * 32767 * 10 ** (peak_dbfs / 20)
    return mulaw.encode(np.clip(scaled, -32768, 32767).astype(np.int16))


def _envelope(n: int, attack: int, decay_s: float) -> npt.NDArray[np.float64]:
    """A fast rise over ``attack`` samples, then an exponential decay."""
    t = np.arange(n) / RATE
    rise = np.minimum(1.0, np.arange(n) / max(1, attack))
    return rise * np.exp(-t / decay_s)


def _band(noise: npt.NDArray[np.float64], low: float, high: float) -> npt.NDArray[np.float64]:
    """Noise band-passed to [low, high] Hz (by zeroing FFT bins)."""
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(len(noise), 1 / RATE)
    spectrum[(freqs < low) | (freqs > high)] = 0
    return np.fft.irfft(spectrum, len(noise))


Sound = npt.NDArray[np.float64]
Maker = Callable[[np.random.Generator, int], tuple[str, Sound, float]]
"""Makes clip ``i``: its name, its samples and its peak level in dBFS."""


def _made(kind: str, count: int, seed: int, make: Maker) -> list[Clip]:
    """``count`` clips of ``kind`` from ``make``, the same ones for the same seed."""
    rng = np.random.default_rng(seed)
    clips = []
    for i in range(count):
        name, samples, level = make(rng, i)
        clips.append(Clip(name, kind, _encode(samples, level)))
    return clips


def _noise(rng: np.random.Generator, i: int) -> tuple[str, Sound, float]:
    n = int(rng.uniform(0.15, 0.6) * RATE)
    white = rng.normal(0, 1, n)
    colour = ("white", "pink", "band")[i % 3]
    if colour == "pink":
        spectrum = np.fft.rfft(white) / np.sqrt(np.maximum(1, np.arange(n // 2 + 1)))
        white = np.fft.irfft(spectrum, n)
    elif colour == "band":
        white = _band(white, rng.uniform(200, 800), rng.uniform(1500, 3400))
    shaped = white * _envelope(n, int(0.01 * RATE), rng.uniform(0.1, 0.5))
    return f"noise-{colour}-{i}", shaped, rng.uniform(-30, -8)


def noise_bursts(count: int, seed: int = 7) -> list[Clip]:
    """White, pink and band-limited noise bursts of 150 to 600 ms at -30 to -8 dBFS (a door, a
    rustle, a car passing, line noise)."""
    return _made("noise", count, seed, _noise)


def _voiced(
    rng: np.random.Generator, seconds: float, f0: float, formants: list[tuple[float, float, float]]
) -> npt.NDArray[np.float64]:
    """A voiced sound: a jittered glottal pulse train at ``f0`` Hz shaped by ``formants``
    (centre Hz, bandwidth Hz, gain), with the voice's spectral tilt."""
    n = int(seconds * RATE)
    pulses = np.zeros(n)
    at = 0.0
    while at < n:
        pulses[int(at)] = 1.0
        at += RATE / (f0 * (1 + rng.normal(0, 0.02)))
    source = pulses + 0.02 * rng.normal(0, 1, n)
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    shape = sum(gain / (1 + ((freqs - f) / (bw / 2)) ** 2) for f, bw, gain in formants)
    tilt = 1 / (1 + freqs / 300)
    return np.fft.irfft(np.fft.rfft(source) * shape * tilt, n)


def _breath(rng: np.random.Generator, seconds: float) -> npt.NDArray[np.float64]:
    """Aspiration: noise in the 500 to 3000 Hz band."""
    noise = _band(rng.normal(0, 1, int(seconds * RATE)), 500, 3000)
    return noise / (np.max(np.abs(noise)) or 1.0)


def _normal(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return x / (np.max(np.abs(x)) or 1.0)


UGH = [(600.0, 120.0, 1.0), (1200.0, 150.0, 0.5), (2400.0, 200.0, 0.25)]
AH = [(750.0, 110.0, 1.0), (1200.0, 130.0, 0.6), (2500.0, 200.0, 0.25)]
MM = [(250.0, 60.0, 1.0), (1000.0, 200.0, 0.08), (2200.0, 250.0, 0.04)]


def _cough(rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """One cough: an explosive burst of breath, then a short voiced "ugh" that dies away."""
    burst = _breath(rng, rng.uniform(0.04, 0.08))
    ugh = _normal(_voiced(rng, rng.uniform(0.1, 0.25), rng.uniform(110, 240), UGH))
    sound = np.concatenate([burst * rng.uniform(0.5, 1.0), ugh])
    return sound * _envelope(len(sound), int(0.005 * RATE), rng.uniform(0.08, 0.2))


def _coughing(rng: np.random.Generator, i: int) -> tuple[str, Sound, float]:
    parts = [_cough(rng)]
    if i % 2:
        parts += [np.zeros(int(rng.uniform(0.08, 0.2) * RATE)), _cough(rng)]
    return f"cough-{i}", np.concatenate(parts), rng.uniform(-20, -6)


def coughs(count: int, seed: int = 11) -> list[Clip]:
    """Cough-like sounds, single or double (80 to 200 ms apart), at -20 to -6 dBFS."""
    return _made("cough", count, seed, _coughing)


def _laugh(rng: np.random.Generator, i: int) -> tuple[str, Sound, float]:
    f0 = rng.uniform(180, 320)
    parts: list[Sound] = []
    for _ in range(int(rng.integers(3, 6))):
        breath = 0.4 * _breath(rng, 0.03)
        ha = np.concatenate([breath, _normal(_voiced(rng, rng.uniform(0.07, 0.13), f0, AH))])
        parts += [ha * _envelope(len(ha), int(0.01 * RATE), 0.08)]
        parts += [np.zeros(int(rng.uniform(0.06, 0.12) * RATE))]
        f0 *= rng.uniform(0.9, 1.0)
    return f"laugh-{i}", np.concatenate(parts), rng.uniform(-20, -8)


def laughs(count: int, seed: int = 17) -> list[Clip]:
    """A short laugh: three to five "ha"s (breath, then a high voiced "ah"), 60 to 120 ms apart."""
    return _made("laugh", count, seed, _laugh)


def _hum(rng: np.random.Generator, i: int) -> tuple[str, Sound, float]:
    seconds = rng.uniform(0.3, 0.8)
    halves = [_voiced(rng, seconds / 2, rng.uniform(100, 220), MM) for _ in range(2)]
    hum = _normal(np.concatenate(halves))
    fade = np.minimum(np.arange(len(hum)), np.arange(len(hum))[::-1]) / 400  # 50 ms in and out
    return f"hum-{i}", hum * np.minimum(1.0, fade), rng.uniform(-22, -8)


def hums(count: int, seed: int = 19) -> list[Clip]:
    """A closed-mouth "mmm" of thought or agreement, 300 to 800 ms, its pitch rising or falling."""
    return _made("hum", count, seed, _hum)


def _wav_mulaw(path: Path) -> bytes:
    """A mono 16-bit WAV file at any rate, as 8 kHz mu-law."""
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return mulaw.encode(float_to_pcm16(resample(pcm, rate, RATE)))


def _espeak(word: str, voice: str, speed: int) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "word.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), word],
            check=True,
            capture_output=True,
        )
        return _wav_mulaw(out)


def _local_voice(word: str) -> bytes:
    """``word`` in the project's own local voice (when espeak-ng is missing)."""
    import asyncio

    from telephonist.speech.tts.base import VoiceSpec
    from telephonist.speech.tts.local import LocalTTS

    async def speak() -> bytes:
        return b"".join([c async for c in LocalTTS().synthesize(word, VoiceSpec(language="en"))])

    return asyncio.run(speak())


def backchannels(count: int, seed: int = 13) -> list[Clip]:
    """Backchannel words, each in another voice and speed (espeak-ng when installed),
    trimmed of the engine's leading and trailing silence."""
    rng = np.random.default_rng(seed)
    espeak = shutil.which("espeak-ng") is not None
    clips = []
    for i in range(count):
        word = list(BACKCHANNEL_WORDS)[i % len(BACKCHANNEL_WORDS)]
        voice = ESPEAK_VOICES[(i // len(BACKCHANNEL_WORDS) + i) % len(ESPEAK_VOICES)]
        speed = int(rng.uniform(140, 200))
        if espeak:
            audio = _espeak(BACKCHANNEL_WORDS[word], voice, speed)
        else:
            audio, voice = _local_voice(word.replace("-", " ")), "local"
        clips.append(Clip(f"{word}-{voice}-{i}", "backchannel", _trim(audio)))
    return clips


def _trim(audio: bytes) -> bytes:
    """Without leading and trailing near-silence (below -45 dBFS in 10 ms windows)."""
    pcm = mulaw.decode(audio).astype(np.float64)
    n = len(pcm) // 80
    loud = np.flatnonzero(np.sqrt(np.mean(pcm[: n * 80].reshape(n, 80) ** 2, axis=1)) > 183)
    if not len(loud):
        return audio
    return audio[loud[0] * 80 : (loud[-1] + 1) * 80]


def non_word_clips(per_kind: int) -> list[Clip]:
    """``per_kind`` noise bursts, coughs, laughs, hums and backchannel words."""
    return (
        noise_bursts(per_kind)
        + coughs(per_kind)
        + laughs(per_kind)
        + hums(per_kind)
        + backchannels(per_kind)
    )


def real_interruptions(count: int, seconds: float = 1.6) -> list[Clip]:
    """The first ``seconds`` of recorded prompts: a caller talking over the bot."""
    names = [INTERRUPTION_PROMPTS[i % len(INTERRUPTION_PROMPTS)] for i in range(count)]
    return [
        Clip(f"{name}-{i}", "speech", load_prompt(name).mulaw[: int(seconds * RATE)])
        for i, name in enumerate(names)
    ]
