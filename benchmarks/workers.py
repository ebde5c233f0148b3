"""Workers: the load benchmark's knee with one server process and with several.

Runs ``load.py``'s sweep (fresh ``scripted_server.py`` per level: zero-latency scripted
providers, the real Silero VAD) once per worker count; with N > 1 the server is N worker
processes behind one supervisor, as ``telephonist run --workers N`` serves (``SO_REUSEPORT``
sockets, a shared stream-token secret, stream claims in one SQLite file). The knee is
``load.py``'s: the first level whose p95 turn latency exceeds the 1-call p95 by more than
``--budget-ms`` (150 ms) or that loses more than 1% of turns or calls. Also reported per
level: server CPU (all its processes, % of one core), the load generator's own CPU, and
what everything else on the machine used meanwhile (the generator shares the cores with
the server here, so it takes from what the workers could use). Usage::

    python benchmarks/workers.py                                   # 1 and 2 workers
    python benchmarks/workers.py --workers 1,2 --calls 1,100,200,300,400,500,600 --seconds 20
    python benchmarks/workers.py --json workers.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from load import BUDGET_MS, HEADER, PHASES, Level, knee, line, run_level  # noqa: E402


def sweep(
    workers: int,
    counts: list[int],
    seconds: float,
    budget_ms: float,
    generators: int = 0,
    phases: int = PHASES,
) -> list[Level]:
    """``load.py``'s levels against ``workers`` server processes, stopping one level past
    the knee (further levels only cost time)."""
    levels: list[Level] = []
    print(f"-- {workers} worker(s)\n{HEADER}", flush=True)
    for calls in counts:
        levels.append(
            run_level(
                calls,
                seconds,
                generators or (2 if calls >= 200 else 1),
                workers=workers,
                phases=phases,
            )
        )
        print(line(levels[-1]), flush=True)
        if knee(levels, budget_ms) is not None:
            break
    return levels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2", help="worker counts (default 1,2)")
    parser.add_argument(
        "--calls",
        default="1,100,200,300,400,500,600,700",
        help="the sweep of concurrent calls (default 1,100,...,700)",
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="hold time per level")
    parser.add_argument("--budget-ms", type=float, default=BUDGET_MS, help="as in load.py")
    parser.add_argument(
        "--generators",
        type=int,
        default=0,
        help="load generator processes (default: 1, or 2 from 200 calls)",
    )
    parser.add_argument(
        "--phases", type=int, default=PHASES, help=f"as in load.py (default {PHASES})"
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    counts = [int(c) for c in args.calls.split(",")]
    report: dict[str, Any] = {"budget_ms": args.budget_ms, "cpus": os.cpu_count(), "runs": []}
    knees: dict[int, int | None] = {}
    for workers in (int(w) for w in args.workers.split(",")):
        levels = sweep(workers, counts, args.seconds, args.budget_ms, args.generators, args.phases)
        found = knee(levels, args.budget_ms)
        knees[workers] = found.calls if found else None
        print(
            f"knee with {workers} worker(s): "
            + (f"{found.calls} calls" if found else f"not reached by {levels[-1].calls} calls"),
            flush=True,
        )
        report["runs"].append(
            {
                "workers": workers,
                "knee_calls": knees[workers],
                "levels": [asdict(lv) for lv in levels],
            }
        )
    first = knees.get(1)
    for workers, calls in knees.items():
        if workers != 1 and first and calls:
            print(f"{workers} workers / 1: {calls / first:.2f}x the knee", flush=True)
    report["knees"] = knees
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
