"""End-of-turn model cost: milliseconds per decision, one clip at a time and batched.

    python benchmarks/turn_model.py [--batch 1 8 32] [--calls 50] [--repeats 3] [--json]

Each clip is what a call hands the model at a pause: up to 8 s of the caller's speech (an
Asterisk prompt, looped, if installed, else a tone burst) ending in 200 ms of silence.
Reported, best of ``--repeats``:

* per batch size N: wall ms for features (log-mel, numpy) and for the model (one
  ``session.run`` of batch N, one intra-op thread), and ms per decision (total / N);
* through `TurnBatcher` as the server runs it: ``--calls`` calls pausing at the same moment,
  the ms until each call had its decision (median, 95th percentile, worst) and the batches
  it took;
* the decisions per second one worker thread sustains (1000 / ms per decision at the
  largest batch), to set against what 200 calls need (a pause every few seconds each).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from telephonist.audio import mulaw
from telephonist.turn.features import model_input
from telephonist.turn.scorer import TurnBatcher
from telephonist.turn.smart_turn import SmartTurnModel

PROMPT = Path("/usr/share/asterisk/sounds/en_US_f_Allison/agent-pass.wav")
PAUSE = b"\xff" * 1600


def clips(count: int, seconds: float = 6.0) -> list[bytes]:
    """``count`` different clips of ``seconds`` of speech, each ending in a 200 ms pause."""
    if PROMPT.is_file():
        with wave.open(str(PROMPT), "rb") as wav:
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    else:
        t = np.arange(8000) / 8000
        pcm = (8000 * np.sin(2 * np.pi * 300 * t) * (t % 0.5 < 0.3)).astype(np.int16)
    n = int(seconds * 8000)
    looped = np.resize(pcm, n + 800 * count)
    return [mulaw.encode(looped[800 * i : 800 * i + n]) + PAUSE for i in range(count)]


def direct(model: SmartTurnModel, sizes: list[int], repeats: int) -> list[dict[str, Any]]:
    """Features and inference timed apart, per batch size."""
    session = model._session  # the benchmark times the two halves of `completeness` apart
    assert session is not None
    rows = []
    for size in sizes:
        batch = clips(size)
        best_features = best_model = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            features = model_input(batch)
            middle = time.perf_counter()
            session.run(None, {"input_features": features})
            end = time.perf_counter()
            best_features = min(best_features, middle - start)
            best_model = min(best_model, end - middle)
        total = (best_features + best_model) * 1000
        rows.append(
            {
                "batch": size,
                "features_ms": round(best_features * 1000, 1),
                "model_ms": round(best_model * 1000, 1),
                "ms_per_decision": round(total / size, 1),
            }
        )
    return rows


async def through_batcher(model: SmartTurnModel, calls: int, repeats: int) -> dict[str, Any]:
    """``calls`` calls asking at once, as the server's batcher serves them."""
    batcher = TurnBatcher(model)
    batch = clips(calls)
    best: dict[str, Any] | None = None
    try:
        for _ in range(repeats):
            before = batcher.batches
            scores = await asyncio.gather(*(batcher.score(clip) for clip in batch))
            waits = sorted(score.ms for score in scores)
            result = {
                "calls": calls,
                "batches": batcher.batches - before,
                "median_ms": round(statistics.median(waits), 1),
                "p95_ms": round(waits[min(len(waits) - 1, int(0.95 * len(waits)))], 1),
                "worst_ms": round(waits[-1], 1),
            }
            if best is None or result["worst_ms"] < best["worst_ms"]:
                best = result
    finally:
        batcher.close()
    assert best is not None
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    model = SmartTurnModel()
    model.load()
    model.completeness(clips(1))  # onnxruntime's first run sets things up: not measured
    rows = direct(model, args.batch, args.repeats)
    batched = asyncio.run(through_batcher(model, args.calls, args.repeats))
    report = {
        "direct": rows,
        "batcher": batched,
        "decisions_per_second_per_worker": round(1000 / rows[-1]["ms_per_decision"], 1),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "onnxruntime": ort.__version__,
        },
    }
    if args.json:
        print(json.dumps(report))
        return
    print(f"{'batch':>5} {'features ms':>12} {'model ms':>9} {'ms/decision':>12}")
    for row in rows:
        print(
            f"{row['batch']:>5} {row['features_ms']:>12} {row['model_ms']:>9} "
            f"{row['ms_per_decision']:>12}"
        )
    print(
        f"{batched['calls']} calls pausing at once through the batcher: "
        f"{batched['batches']} inferences, decision after median {batched['median_ms']} ms, "
        f"p95 {batched['p95_ms']} ms, worst {batched['worst_ms']} ms"
    )
    print(f"one worker: {report['decisions_per_second_per_worker']} decisions/s")
    print(f"machine: {report['machine']}")


if __name__ == "__main__":
    main()
