"""Load: N concurrent simulated calls for T seconds against one server process, and a sweep.

For each level a fresh ``scripted_server.py`` (zero-latency scripted ASR/TTS/assistant, the
real Silero VAD) is started as a subprocess, and ``callgen.py`` processes place the calls.
Measured while the calls are held:

* turn latency p50/p95/p99 (the caller's last voiced frame → the first bot speech it hears;
  JSON ``latency_from_speech_end_ms``; files from before this measure, with
  ``turn_latency_ms`` from the end of the clip, are still read by ``--replot``);
* lost turns (no reply within 5 s), late bot frames (playout underruns at the caller),
  failed and dropped calls, and messages the server rejected (from its /metrics);
* server CPU (% of one core) and RSS per call (connected minus idle, per call);
* the generator's own CPU and late ticks, so a saturated generator is visible.

The knee is the first level whose p95 exceeds the 1-call p95 by more than ``--budget-ms``
(150 ms: what the server may add to a turn before a caller notices) or that loses more than
1% of turns or calls. Usage::

    python benchmarks/load.py                                  # sweep 1,50,100,200,400, 30 s each
    python benchmarks/load.py --calls 100 --seconds 60         # one level
    python benchmarks/load.py --json load.json --plot load.png --generators 2
    python benchmarks/load.py --replot load.json --plot load.png   # table and plot again
    python benchmarks/load.py --server null --calls 100,400 --generators 1  # generator alone
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
PHASES = 10
"""The generators spread their calls' frames over each 20 ms tick in this many steps (2 ms
apart), as calls that began at different moments arrive; 1 sends them all in one instant."""
sys.path.insert(0, str(HERE))

from callgen import Results  # noqa: E402

from telephonist.simulator.report import percentiles  # noqa: E402


@dataclass
class Level:
    """Figures for one number of concurrent calls."""

    calls: int
    seconds: float
    generators: int
    phases: int = 1
    """Steps over which the generators spread their calls' frames in each 20 ms tick."""
    latency_from_speech_end_ms: dict[str, float] = field(default_factory=dict)
    turns: int = 0
    lost_turns: int = 0
    late_frames: int = 0
    failed_calls: int = 0
    dropped_calls: int = 0
    rejected_messages: int = 0
    server_tracebacks: int = 0
    server_cpu_percent: float = 0.0
    rss_idle_mb: float = 0.0
    rss_per_call_kb: float = 0.0
    generator_cpu_percent: float = 0.0
    generator_cpu_ms_per_call_s: float = 0.0
    generator_late_ticks: int = 0
    other_cpu_percent: float = 0.0
    """CPU used meanwhile by everything else on the machine (other work skews the figures)."""
    errors: list[str] = field(default_factory=list)


def rss_kb(pid: int) -> int:
    """Resident memory of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def machine_busy_seconds() -> float:
    """CPU seconds spent by every process on the machine (all cores, /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(*pids: int) -> float:
    """User + system CPU time of processes (all their threads)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def family(pid: int) -> list[int]:
    """A process and its descendants (a supervisor and its workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found = [pid]
    for parent in found:  # the list grows as it is walked: breadth first
        found += children.get(parent, [])
    return found


class Server:
    """``scripted_server.py`` in its own process."""

    def __init__(self, kind: str = "scripted", env: dict[str, str] | None = None) -> None:
        self.kind = kind
        self.log = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / f"{kind}_server.py"), "0"],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        assert self.process.stdout is not None
        ready = self.process.stdout.readline().split()
        if not ready or ready[0] != "ready":
            raise RuntimeError("scripted server did not start")
        self.base = f"http://127.0.0.1:{ready[1]}"
        self.pid = self.process.pid
        self.pids = family(self.pid)  # with BENCH_WORKERS, a supervisor and its workers

    def metric(self, name: str) -> float:
        """Sum of one counter over its labels, from /metrics (0 for the null server)."""
        if self.kind != "scripted":
            return 0.0
        text = httpx.get(f"{self.base}/metrics", timeout=10).text
        return sum(float(m) for m in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))

    def tracebacks(self) -> int:
        """Unhandled exceptions the server logged so far."""
        self.log.flush()
        self.log.seek(0)
        return self.log.read().count("Exception in ASGI application")

    def stop(self) -> None:
        """Terminate and reap."""
        self.process.terminate()
        self.process.wait(10)
        self.log.close()


def start_generators(
    base: str,
    calls: int,
    seconds: float,
    generators: int,
    call_seconds: float | None = None,
    phases: int = PHASES,
) -> list[subprocess.Popen[str]]:
    """``generators`` callgen processes sharing ``calls`` between them, each spreading its
    calls' frames over the 20 ms tick in ``phases`` steps."""
    shares = [calls // generators + (1 if i < calls % generators else 0) for i in range(generators)]
    extra = ["--call-seconds", str(call_seconds)] if call_seconds else []
    return [
        subprocess.Popen(
            [
                sys.executable,
                str(HERE / "callgen.py"),
                "--base",
                base,
                "--calls",
                str(n),
                "--seconds",
                str(seconds),
                "--phases",
                str(phases),
                *extra,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in shares
        if n > 0
    ]


def wait_connected(processes: list[subprocess.Popen[str]]) -> None:
    """Block until each generator has its first wave of calls up."""
    for process in processes:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("connected"):
            raise RuntimeError(f"generator failed: {line!r}")


def collect(processes: list[subprocess.Popen[str]]) -> list[Results]:
    """The JSON result line of each generator."""
    results = []
    for process in processes:
        assert process.stdout is not None
        out = process.stdout.read().strip().splitlines()
        process.wait()
        results.append(Results(**json.loads(out[-1])))
    return results


def merge(level: Level, results: list[Results]) -> None:
    """Add the generators' figures to ``level``."""
    latencies: list[float] = []
    cpu = hold = 0.0
    for r in results:
        latencies += r.latencies_ms
        level.turns += r.turns
        level.lost_turns += r.lost_turns
        level.late_frames += r.late_frames
        level.failed_calls += r.failed_calls
        level.dropped_calls += r.dropped_calls
        level.generator_late_ticks += r.late_ticks
        level.errors += r.errors
        cpu += r.generator_cpu_s
        hold = max(hold, r.hold_s)
    level.latency_from_speech_end_ms = percentiles(latencies)
    level.generator_cpu_percent = round(100 * cpu / hold, 1) if hold else 0.0
    level.generator_cpu_ms_per_call_s = round(1000 * cpu / hold / level.calls, 3) if hold else 0
    level.errors = level.errors[:5]


def run_level(
    calls: int,
    seconds: float,
    generators: int,
    kind: str = "scripted",
    workers: int = 1,
    turn: str = "none",
    phases: int = 0,
) -> Level:
    """Fresh server (``workers`` processes, end-of-turn ``turn`` model), ``calls``
    concurrent calls held for ``seconds``."""
    server = Server(kind, {"BENCH_WORKERS": str(workers), "BENCH_TURN": turn})
    try:
        level = Level(calls, seconds, generators, phases or PHASES)
        time.sleep(1.0)
        idle = sum(rss_kb(pid) for pid in server.pids)
        level.rss_idle_mb = round(idle / 1024, 1)
        processes = start_generators(server.base, calls, seconds, generators, None, level.phases)
        wait_connected(processes)
        rss_connected = sum(rss_kb(pid) for pid in server.pids)
        cpu0, wall0, busy0 = cpu_seconds(*server.pids), time.monotonic(), machine_busy_seconds()
        results = collect(processes)
        wall = time.monotonic() - wall0
        server_cpu = cpu_seconds(*server.pids) - cpu0
        level.server_cpu_percent = round(100 * server_cpu / wall, 1)
        generators_cpu = sum(r.generator_cpu_s for r in results)
        level.other_cpu_percent = round(
            max(0.0, 100 * (machine_busy_seconds() - busy0 - server_cpu - generators_cpu) / wall), 1
        )
        level.rss_per_call_kb = round((rss_connected - idle) / calls, 1)
        level.rejected_messages = int(server.metric("telephonist_rejected_messages_total"))
        time.sleep(0.5)  # the last hang-ups
        level.server_tracebacks = server.tracebacks()
        merge(level, results)
        return level
    finally:
        server.stop()


def _renamed(level: dict[str, Any]) -> dict[str, Any]:
    """A level as older files wrote it (``turn_latency_ms``: from the end of the clip)."""
    if "turn_latency_ms" in level:
        level["latency_from_speech_end_ms"] = level.pop("turn_latency_ms")
    return level


BUDGET_MS = 150.0


def knee(levels: list[Level], budget_ms: float = BUDGET_MS) -> Level | None:
    """The first level whose p95 turn latency exceeds the first level's by more than
    ``budget_ms`` (and is over 4x it), or that loses more than 1% of turns or calls."""
    if not levels or not levels[0].latency_from_speech_end_ms:
        return None
    base = levels[0].latency_from_speech_end_ms["p95"]
    for level in levels[1:]:
        p95 = level.latency_from_speech_end_ms.get("p95", float("inf"))
        failed = level.lost_turns + level.failed_calls + level.dropped_calls
        if (p95 > base + budget_ms and p95 > 4 * base) or failed > 0.01 * max(1, level.turns):
            return level
    return None


def line(level: Level) -> str:
    """One row of the printed table."""
    t = level.latency_from_speech_end_ms
    return (
        f"{level.calls:5d} {t.get('p50', '-'):>7} {t.get('p95', '-'):>7} {t.get('p99', '-'):>7}"
        f" {level.turns:6d} {level.lost_turns:5d} {level.late_frames:6d}"
        f" {level.failed_calls + level.dropped_calls:6d} {level.server_cpu_percent:6.1f}"
        f" {level.rss_per_call_kb:8.1f} {level.generator_cpu_percent:6.1f}"
        f" {level.generator_late_ticks:6d} {level.other_cpu_percent:6.1f}"
    )


HEADER = (
    "calls     p50     p95     p99  turns  lost  late_f  fails  srvCPU  RSS/call  genCPU"
    " genLate  other\n"
    + " " * 6
    + "(turn latency, ms)"
    + " " * 36
    + "%        kB       %          %"
)


def plot(levels: list[Level], path: Path, found: Level | None) -> None:
    """Latency percentiles and CPU against concurrent calls, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    calls = [level.calls for level in levels]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for q, style in (("p50", "o-"), ("p95", "s-"), ("p99", "^-")):
        ax.plot(
            calls,
            [lv.latency_from_speech_end_ms.get(q, float("nan")) for lv in levels],
            style,
            label=f"turn latency {q}",
        )
    ax.set_xlabel("concurrent calls")
    ax.set_ylabel("turn latency (ms)")
    ax.set_yscale("log")
    cpu = ax.twinx()
    cpu.plot(calls, [lv.server_cpu_percent for lv in levels], "k--", label="server CPU %")
    cpu.plot(calls, [lv.generator_cpu_percent for lv in levels], "k:", label="generator CPU %")
    cpu.plot(
        calls,
        [lv.other_cpu_percent for lv in levels],
        color="grey",
        linestyle="-.",
        label="other processes CPU %",
    )
    cpu.set_ylabel("CPU (% of one core)")
    if found is not None:
        ax.axvline(found.calls, color="red", alpha=0.3, label=f"knee ({found.calls} calls)")
    lines = ax.get_legend_handles_labels()
    more = cpu.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", fontsize=8)
    ax.set_title("Telephonist server with zero-latency scripted providers")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--calls",
        default="1,50,100,200,400",
        help="one count or a comma-separated sweep (default 1,50,100,200,400)",
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="hold time per level")
    parser.add_argument(
        "--generators",
        type=int,
        default=0,
        help="generator processes (default: 1, or 2 from 200 calls)",
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--plot", type=Path, help="write a PNG plot here")
    parser.add_argument(
        "--budget-ms",
        type=float,
        default=BUDGET_MS,
        help="p95 latency the server may add before the knee (default 150)",
    )
    parser.add_argument(
        "--phases",
        type=int,
        default=PHASES,
        help=f"spread the calls' frames over each 20 ms tick in this many steps (default "
        f"{PHASES}; 1: every call's frame in the same instant, as before)",
    )
    parser.add_argument(
        "--server",
        choices=["scripted", "null"],
        default="scripted",
        help="scripted: our server with zero-latency providers (default); "
        "null: a trivial stream server, to measure the generator alone",
    )
    parser.add_argument(
        "--turn",
        choices=["none", "smart-turn"],
        default="none",
        help="the scripted server's end-of-turn model (turn.model; default none: the "
        "zero-latency ASR ends each turn at once, so the model's cost shows alone)",
    )
    parser.add_argument(
        "--replot",
        type=Path,
        metavar="JSON",
        help="print the table and draw the plot of an earlier --json run",
    )
    args = parser.parse_args()
    if args.plot:
        try:
            import matplotlib  # noqa: F401 - checked before minutes of measuring
        except ImportError:
            parser.error("--plot needs matplotlib (pip install matplotlib, or scripts/install dev)")
    levels: list[Level] = []
    print(HEADER, flush=True)
    if args.replot:
        levels = [Level(**_renamed(lv)) for lv in json.loads(args.replot.read_text())["levels"]]
        print("\n".join(line(level) for level in levels))
    for calls in () if args.replot else (int(c) for c in args.calls.split(",")):
        generators = args.generators or (2 if calls >= 200 else 1)
        level = run_level(
            calls, args.seconds, generators, args.server, turn=args.turn, phases=args.phases
        )
        levels.append(level)
        print(line(level), flush=True)
    found = knee(levels, args.budget_ms)
    print(f"knee: {found.calls} calls" if found else "knee: not reached", flush=True)
    if args.json and not args.replot:
        report: dict[str, Any] = {
            "levels": [asdict(lv) for lv in levels],
            "knee_calls": found.calls if found else None,
            "budget_ms": args.budget_ms,
            "cpus": os.cpu_count(),
        }
        args.json.write_text(json.dumps(report, indent=2))
    if args.plot:
        plot(levels, args.plot, found)


if __name__ == "__main__":
    main()
