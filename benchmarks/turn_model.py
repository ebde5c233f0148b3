"""End-of-turn model cost: milliseconds per decision, one clip at a time and batched.

    python benchmarks/turn_model.py [--batch 1 8] [--calls 1 10 50] [--every 4] [--json]

Each clip is what a call hands the model at a pause: 6 s of the caller's speech (an
Asterisk prompt, looped, if installed, else a tone burst) ending in 200 ms of silence.
Reported:

* per batch size N (best of ``--repeats``): wall ms for features (log-mel, numpy) and for
  the model (one ``session.run`` of batch N, one intra-op thread), and ms per decision;
* through `TurnBatcher` as the server runs it (one worker, batches of up to 8, a request
  refused after waiting 0.5 s): each of ``--calls`` calls pauses once every ``--every``
  seconds for ``--seconds``; the decision time (median, 95th percentile, batching wait
  included), the mean batch, and how many requests were refused (those pauses fall back to
  the silence rule);
* the decisions per second one worker sustains (1000 / ms per decision at the largest
  batch): 200 calls pausing every 4 s need 50.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from telephonist.audio import mulaw
from telephonist.errors import ProviderError
from telephonist.turn.features import model_input
from telephonist.turn.scorer import TurnBatcher
from telephonist.turn.smart_turn import SmartTurnModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vad_batch import prompt_pcm

PAUSE = b"\xff" * 1600


def clips(count: int, seconds: float = 6.0) -> list[bytes]:
    """``count`` different clips of ``seconds`` of speech, each ending in a 200 ms pause."""
    n = int(seconds * 8000)
    looped = np.resize(prompt_pcm(), n + 800 * count)
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


async def through_batcher(
    model: SmartTurnModel, calls: int, every_s: float, seconds: float
) -> dict[str, Any]:
    """``calls`` calls, each pausing once every ``every_s`` (at a random phase) for
    ``seconds``, served by the server's batcher (one worker, batches of up to 8, requests
    refused after waiting 0.5 s)."""
    batcher = TurnBatcher(model)
    batch = clips(min(calls, 16))
    rng = random.Random(1)
    waits: list[float] = []
    sizes: list[int] = []
    refused = 0

    async def call(number: int) -> None:
        nonlocal refused
        await asyncio.sleep(rng.uniform(0, every_s))
        for _ in range(int(seconds / every_s)):
            asked = time.perf_counter()
            try:
                score = await batcher.score(batch[number % len(batch)])
            except ProviderError:
                refused += 1
            else:
                waits.append(score.ms)
                sizes.append(score.batch)
            await asyncio.sleep(max(0.0, every_s - (time.perf_counter() - asked)))

    try:
        await asyncio.gather(*(call(n) for n in range(calls)))
    finally:
        batcher.close()
    waits.sort()
    asked = len(waits) + refused
    return {
        "calls": calls,
        "pause_every_s": every_s,
        "decisions_per_s": round(asked / seconds, 1),
        "answered": len(waits),
        "refused": refused,
        "median_ms": round(statistics.median(waits), 1) if waits else None,
        "p95_ms": round(waits[min(len(waits) - 1, int(0.95 * len(waits)))], 1) if waits else None,
        "mean_batch": round(statistics.mean(sizes), 1) if sizes else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--calls", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--every", type=float, default=4.0, help="s between a call's pauses")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each load run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    model = SmartTurnModel()
    model.load()
    model.completeness(clips(1))  # onnxruntime's first run sets things up: not measured
    rows = direct(model, args.batch, args.repeats)
    loads = [
        asyncio.run(through_batcher(model, calls, args.every, args.seconds)) for calls in args.calls
    ]
    report = {
        "direct": rows,
        "batcher": loads,
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
    for load in loads:
        print(
            f"{load['calls']} calls, a pause each every {load['pause_every_s']} s "
            f"({load['decisions_per_s']}/s): decision median {load['median_ms']} ms, "
            f"p95 {load['p95_ms']} ms, mean batch {load['mean_batch']}, "
            f"refused {load['refused']} of {load['answered'] + load['refused']}"
        )
    print(f"one worker: {report['decisions_per_second_per_worker']} decisions/s")
    print(f"machine: {report['machine']}")


if __name__ == "__main__":
    main()
