"""Dialogue engine benchmark: per-turn latency and intent accuracy.

    python benchmarks/dialogue_latency.py [--conversations 200] [--json out.json]

Measures, on the starter project (a fresh copy in a temporary directory):
  * engine turn latency (event in -> AssistantTurn out, sync engine, no I/O),
  * ProjectAssistant turn latency including the per-turn SQLite save in a worker thread,
  * NLU parse latency, cold start (training) and warm start (cached model),
and held-out intent accuracy (stratified 70/30 splits, averaged over seeds) on the starter's
NLU data and on benchmarks/data/phone_intents.yml (20 intents x 15 hand-written utterances).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from telephonist.dialogue.assistant import ProjectAssistant
from telephonist.dialogue.classifier import IntentClassifier
from telephonist.dialogue.engine import Engine
from telephonist.dialogue.nlu import Interpreter
from telephonist.dialogue.nlu_data import read_nlu
from telephonist.dialogue.project import load_project
from telephonist.dialogue.source import Problems, load_document
from telephonist.dialogue.turns import SessionEnd, SessionStart, Silence, UserEvent, UserText
from telephonist.starter import copy_starter
from telephonist.stores import SQLiteStore

HERE = Path(__file__).resolve().parent
SCRIPT: list[UserEvent] = [
    SessionStart({"call_id": "bench"}),
    Silence(1),
    UserText("3", source="dtmf"),
    UserText("on wednesday please"),
    UserText("twelve of us"),
    UserText("just two"),
    UserText("actually make it friday"),
    UserText("Ada Lovelace"),
    UserText("yes please"),
    UserText("I'd like to book an appointment for monday"),
    UserText("purple elephants"),
    UserText("never mind"),
    UserText("can you repeat that"),
    UserText("goodbye"),
    SessionEnd("caller hung up"),
]


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max in milliseconds."""
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "n": len(ordered),
        "p50_ms": pick(0.50),
        "p95_ms": pick(0.95),
        "p99_ms": pick(0.99),
        "max_ms": ordered[-1] * 1000,
    }


def engine_latency(engine: Engine, conversations: int) -> dict[str, float]:
    """Time every engine turn of the scripted call, repeated."""
    samples = []
    for n in range(conversations):
        tracker = engine.new_tracker(f"bench-{n}")
        for event in SCRIPT:
            start = time.perf_counter()
            engine.handle(tracker, event)
            samples.append(time.perf_counter() - start)
    return percentiles(samples)


async def assistant_latency(project_dir: Path, conversations: int) -> dict[str, float]:
    """Time ProjectAssistant.handle, including the SQLite save each turn."""
    project = load_project(project_dir)
    store = SQLiteStore(project_dir / ".telephonist" / "bench.sqlite3")
    assistant = ProjectAssistant(project, store, seed=1)
    samples = []
    for n in range(conversations):
        for event in SCRIPT:
            start = time.perf_counter()
            await assistant.handle(f"CA{n}", event)
            samples.append(time.perf_counter() - start)
    await assistant.close()
    return percentiles(samples)


def nlu_latency(interpreter: Interpreter) -> dict[str, float]:
    """Time NLU parsing of unseen sentences."""
    samples = []
    for i in range(2000):
        text = f"I would like to check on order {i} and maybe book something for friday"
        start = time.perf_counter()
        interpreter.parse(text)
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


def held_out_accuracy(
    examples: Mapping[str, Sequence[str]],
    threshold: float,
    seeds: int = 5,
    test_fraction: float = 0.3,
) -> dict[str, float]:
    """Stratified splits: train on 70 % of each intent's examples, test on the rest."""
    raw, with_fallback, answered, sizes = [], [], [], []
    for seed in range(seeds):
        rng = random.Random(seed)
        train: dict[str, list[str]] = {}
        test: list[tuple[str, str]] = []
        for intent, texts in examples.items():
            items = list(texts)
            rng.shuffle(items)
            cut = max(1, round(len(items) * test_fraction))
            test.extend((t, intent) for t in items[:cut])
            train[intent] = items[cut:]
        model = IntentClassifier.train(train, seed=seed)
        hits = hits_fb = above = 0
        for text, intent in test:
            best, confidence = model.rank(text)[0]
            hits += best == intent
            hits_fb += best == intent and confidence >= threshold
            above += confidence >= threshold
        raw.append(hits / len(test))
        with_fallback.append(hits_fb / len(test))
        answered.append(above / len(test))
        sizes.append(len(test))
    return {
        "intents": len(examples),
        "examples": sum(len(v) for v in examples.values()),
        "test_per_split": sizes[0],
        "splits": seeds,
        "accuracy": statistics.mean(raw),
        "accuracy_with_fallback": statistics.mean(with_fallback),
        "answered": statistics.mean(answered),
        "precision_when_answered": sum(with_fallback) / max(sum(answered), 1e-9),
        "fallback_threshold": threshold,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write results here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the starter's action server is not running

    results: dict[str, Any] = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "script_turns": len(SCRIPT),
    }
    with tempfile.TemporaryDirectory() as tmp:
        project_dir = Path(tmp) / "starter"
        copy_starter(project_dir)
        project = load_project(project_dir)
        start = time.perf_counter()
        Engine(project)
        results["cold_start_s"] = time.perf_counter() - start
        start = time.perf_counter()
        engine = Engine(project, seed=1)
        results["warm_start_s"] = time.perf_counter() - start
        engine_latency(engine, 5)  # warm-up
        results["engine_turn"] = engine_latency(engine, args.conversations)
        results["nlu_parse"] = nlu_latency(engine.interpreter)
        results["assistant_turn_sqlite"] = asyncio.run(
            assistant_latency(project_dir, max(1, args.conversations // 4))
        )
        starter_examples = {k: [e.text for e in v] for k, v in project.nlu.examples.items()}
        threshold = project.config.fallback_threshold
        results["accuracy_starter"] = held_out_accuracy(starter_examples, threshold)

    problems = Problems()
    doc = load_document(HERE / "data" / "phone_intents.yml", "phone_intents.yml", problems)
    assert doc is not None and not problems.items, problems.items
    larger = {k: [e.text for e in v] for k, v in read_nlu(doc, problems).examples.items()}
    results["accuracy_phone_intents"] = held_out_accuracy(larger, threshold)

    for key in ("engine_turn", "assistant_turn_sqlite", "nlu_parse"):
        r = results[key]
        print(
            f"{key:24s} n={r['n']:6d}  p50={r['p50_ms']:.3f} ms  p95={r['p95_ms']:.3f} ms  "
            f"p99={r['p99_ms']:.3f} ms  max={r['max_ms']:.3f} ms"
        )
    print(
        f"cold start (train) {results['cold_start_s']:.2f} s, warm start (cached) "
        f"{results['warm_start_s']:.2f} s"
    )
    for key in ("accuracy_starter", "accuracy_phone_intents"):
        r = results[key]
        print(
            f"{key:24s} {r['intents']} intents, {r['examples']} examples, "
            f"{r['test_per_split']} held out x {r['splits']} splits: "
            f"accuracy {r['accuracy']:.1%}, with fallback<{r['fallback_threshold']} "
            f"counted wrong {r['accuracy_with_fallback']:.1%} (answers {r['answered']:.0%}, "
            f"{r['precision_when_answered']:.1%} of those right)"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
