"""VAD cost per 32 ms window: one inference per stream vs one batched inference for all streams.

    python benchmarks/vad_batch.py [--streams 1 50 200] [--seconds 3] [--repeats 3] [--json]

Every stream is fed the same real speech (an Asterisk prompt if installed, else a synthetic
tone burst) in Twilio's 20 ms frames, as the server would. "single" calls
``stream.probabilities(frame)`` per stream per frame; "batched" calls
``SileroVAD.probabilities_batch`` once per frame for all streams. Reported: microseconds of
wall time per scored window (best of ``--repeats``), the fraction of one core that N live calls
would use (windows arrive every 32 ms per call), and EnergyVAD for scale.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import wave
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from telephonist.audio import mulaw
from telephonist.speech.vad.energy import EnergyVAD
from telephonist.speech.vad.silero import SileroStream, SileroVAD

PROMPT = Path("/usr/share/asterisk/sounds/en_US_f_Allison/agent-pass.wav")
FRAME = 160


def prompt_pcm() -> np.ndarray:
    """The recorded prompt as 8 kHz PCM, or a tone burst if it is missing."""
    if PROMPT.is_file():
        with wave.open(str(PROMPT), "rb") as wav:
            return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    t = np.arange(8000) / 8000
    return (8000 * np.sin(2 * np.pi * 300 * t) * (t % 0.5 < 0.3)).astype(np.int16)


def speech(seconds: float) -> bytes:
    """``seconds`` of mu-law speech (the prompt, looped) or a tone burst if it is missing."""
    return mulaw.encode(np.resize(prompt_pcm(), int(seconds * 8000)))


def timed(run: Callable[[], int], repeats: int) -> tuple[float, int]:
    """Best wall time of ``run`` over ``repeats`` and the windows it scored."""
    best, windows = float("inf"), 0
    for _ in range(repeats):
        start = time.perf_counter()
        windows = run()
        best = min(best, time.perf_counter() - start)
    return best, windows


def single(model: SileroVAD | EnergyVAD, streams: int, audio: bytes) -> Callable[[], int]:
    """One call per stream per 20 ms frame."""

    def run() -> int:
        states = [model.new_stream() for _ in range(streams)]
        count = 0
        for i in range(0, len(audio), FRAME):
            frame = audio[i : i + FRAME]
            for state in states:
                count += len(state.probabilities(frame))
        return count

    return run


def batched(model: SileroVAD, streams: int, audio: bytes) -> Callable[[], int]:
    """One probabilities_batch call per 20 ms frame for all streams."""

    def run() -> int:
        states: list[SileroStream] = [model.new_stream() for _ in range(streams)]
        count = 0
        for i in range(0, len(audio), FRAME):
            frame = audio[i : i + FRAME]
            for probs in model.probabilities_batch([(s, frame) for s in states]):
                count += len(probs)
        return count

    return run


def measure(stream_counts: Sequence[int], seconds: float, repeats: int) -> dict[str, Any]:
    """All rows of the benchmark."""
    audio = speech(seconds)
    silero, energy = SileroVAD(), EnergyVAD()
    rows: list[dict[str, Any]] = []
    for n in stream_counts:
        for mode, run in (
            ("single", single(silero, n, audio)),
            ("batched", batched(silero, n, audio)),
            ("energy", single(energy, n, audio)),
        ):
            wall, windows = timed(run, repeats)
            per_window_us = wall / windows * 1e6
            window_ms = 20.0 if mode == "energy" else silero.window_ms
            rows.append(
                {
                    "model": "energy" if mode == "energy" else silero.kind,
                    "mode": "single" if mode == "energy" else mode,
                    "streams": n,
                    "windows": windows,
                    "wall_s": round(wall, 4),
                    "us_per_window": round(per_window_us, 2),
                    "core_fraction_live": round(n * per_window_us / (window_ms * 1e3), 4),
                }
            )
    return {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
        },
        "audio_s_per_stream": seconds,
        "speech": PROMPT.is_file(),
        "rows": rows,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run and print a table, or JSON with ``--json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 50, 200])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    result = measure(args.streams, args.seconds, args.repeats)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return 0
    print(
        f"{'model':<10} {'mode':<8} {'streams':>7} {'windows':>8} {'us/window':>10} "
        f"{'core share live':>15}"
    )
    for row in result["rows"]:
        print(
            f"{row['model']:<10} {row['mode']:<8} {row['streams']:>7} {row['windows']:>8} "
            f"{row['us_per_window']:>10.1f} {row['core_fraction_live']:>15.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
