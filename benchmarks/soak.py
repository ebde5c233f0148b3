"""Soak: many calls for many minutes against one server process; memory must stay flat.

Keeps ``--calls`` calls up for ``--minutes`` against ``scripted_server.py``; each call hangs up
after ``--call-seconds`` and is replaced by a new one, so ended calls must release everything.
Every ``--sample-every`` seconds the server's RSS, CPU and active calls are printed. At the
end: the RSS trend after warm-up (least-squares slope, MB per minute), the growth from the
first to the last sample under load (the first 40% of the run is warm-up), RSS once all calls
have ended, and lost turns (must be 0).

Usage::

    python benchmarks/soak.py --calls 100 --minutes 10              # the full soak
    python benchmarks/soak.py --calls 20 --minutes 1 --sample-every 5   # a quick check
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import (
    PHASES,
    Level,
    Server,
    collect,
    cpu_seconds,
    merge,
    rss_kb,
    start_generators,
    wait_connected,
)


@dataclass
class Soak:
    """The soak's samples and verdict."""

    calls: int
    minutes: float
    call_seconds: float
    samples: list[dict[str, float]] = field(default_factory=list)
    rss_slope_mb_per_min: float = 0.0
    rss_growth_mb: float = 0.0
    rss_after_calls_mb: float = 0.0
    rss_idle_mb: float = 0.0
    flat: bool = False
    level: dict[str, object] = field(default_factory=dict)


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


def judge(soak: Soak, warmup: float, lost: int) -> None:
    """Trend after warm-up: flat when RSS grows by at most 2 MB (or 2%) and nothing was lost.

    The first ``warmup`` of the run is left out: allocator arenas and caches grow over the
    first few generations of calls; a leak keeps growing with every call served after that.
    """
    loaded = [s for s in soak.samples if s["active_calls"] >= 0.9 * soak.calls]
    warm = [s for s in loaded if s["t_s"] >= warmup * soak.minutes * 60] or loaded
    soak.rss_slope_mb_per_min = round(60 * slope([(s["t_s"], s["rss_mb"]) for s in warm]), 2)
    if warm:
        soak.rss_growth_mb = round(warm[-1]["rss_mb"] - warm[0]["rss_mb"], 1)
    limit = max(2.0, 0.02 * warm[0]["rss_mb"]) if warm else 2.0
    soak.flat = soak.rss_growth_mb <= limit and lost == 0


def run(
    calls: int, minutes: float, call_seconds: float, every: float, generators: int, warmup: float
) -> Soak:
    """The whole soak."""
    soak = Soak(calls, minutes, call_seconds)
    server = Server()
    try:
        time.sleep(1.0)
        soak.rss_idle_mb = round(rss_kb(server.pid) / 1024, 1)
        processes = start_generators(server.base, calls, minutes * 60, generators, call_seconds)
        wait_connected(processes)
        start = time.monotonic()
        cpu_before, at_before = cpu_seconds(server.pid), start
        print("   t_s  active  rss_mb  cpu_%", flush=True)
        while any(p.poll() is None for p in processes):
            time.sleep(every)
            now, cpu = time.monotonic(), cpu_seconds(server.pid)
            active = httpx.get(f"{server.base}/health", timeout=10).json()["active_calls"]
            sample = {
                "t_s": round(now - start, 1),
                "active_calls": active,
                "rss_mb": round(rss_kb(server.pid) / 1024, 1),
                "cpu_percent": round(100 * (cpu - cpu_before) / (now - at_before), 1),
            }
            cpu_before, at_before = cpu, now
            soak.samples.append(sample)
            print(
                f"{sample['t_s']:6.0f} {active:7d} {sample['rss_mb']:7.1f} "
                f"{sample['cpu_percent']:6.1f}",
                flush=True,
            )
        level = Level(calls, minutes * 60, len(processes), PHASES)
        merge(level, collect(processes))
        soak.level = asdict(level)
        time.sleep(2.0)
        soak.rss_after_calls_mb = round(rss_kb(server.pid) / 1024, 1)
    finally:
        server.stop()
    judge(soak, warmup, level.lost_turns + level.dropped_calls + level.failed_calls)
    return soak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100, help="concurrent calls (default 100)")
    parser.add_argument("--minutes", type=float, default=10.0, help="duration (default 10)")
    parser.add_argument(
        "--call-seconds",
        type=float,
        default=60.0,
        help="each call hangs up after this long and is replaced (default 60)",
    )
    parser.add_argument("--sample-every", type=float, default=10.0, help="seconds (default 10)")
    parser.add_argument("--generators", type=int, default=1, help="generator processes")
    parser.add_argument(
        "--warmup",
        type=float,
        default=0.4,
        help="fraction of the run left out of the trend (default 0.4)",
    )
    parser.add_argument("--json", type=Path, help="write the samples and verdict here")
    args = parser.parse_args()
    soak = run(
        args.calls, args.minutes, args.call_seconds, args.sample_every, args.generators, args.warmup
    )
    level = soak.level
    print(
        f"turns {level['turns']}, lost {level['lost_turns']}, failed calls "
        f"{level['failed_calls']}, dropped {level['dropped_calls']}, late bot frames "
        f"{level['late_frames']}; latency from speech end {level['latency_from_speech_end_ms']}"
    )
    first = soak.samples[0]["rss_mb"] if soak.samples else 0.0
    print(
        f"RSS idle {soak.rss_idle_mb} MB, {first} MB with the calls up; after warm-up: slope "
        f"{soak.rss_slope_mb_per_min} MB/min, growth {soak.rss_growth_mb} MB; "
        f"{soak.rss_after_calls_mb} MB after the calls ended -> "
        f"{'FLAT' if soak.flat else 'NOT FLAT'}",
        flush=True,
    )
    if args.json:
        args.json.write_text(json.dumps(asdict(soak), indent=2))
    sys.exit(0 if soak.flat else 1)


if __name__ == "__main__":
    main()
