"""Resume: calls whose instance is killed (SIGKILL) go on on another one.

Two ``telephonist run`` instances of the starter assistant share one Redis and a
stream-token secret, behind one public host; their speech engines are zero-latency
(``zero_speech.py``: callers use the keypad, every prompt is a tone of its own), so the
figures are what Telephonist adds. Each simulated caller does the starter's order-status
task by keypad, knowing each prompt by its tone: "2" at the menu, "12345#" when asked for
the order number, and hangs up once it has heard the status. This process is also the load
balancer: it dials an instance that answers its health check, and sends a call's
``<Redirect>`` (Twilio's, when its stream is lost) to the other instance.

* ``--kills N`` (default 20): N rounds of one call, its instance killed while asking for the
  order number, then restarted. Reports the gap the caller hears (stream lost → first audio
  from the other instance), p50/p95, and whether every call finished its task.
* ``--calls N``: N calls dialled over ``--spread`` seconds, round robin; instance A killed
  ``--kill-at`` seconds in and restarted at once. Reports the calls that ended without their
  task finished (there should be none), resumes and their gaps.

Needs a Redis (``--redis HOST:PORT``, default 127.0.0.1:6379) and ``pip install
'telephonist[redis]'``. Usage::

    python benchmarks/resume.py --kills 20 --json resume.json
    python benchmarks/resume.py --calls 100 --spread 20 --kill-at 10 --json failover.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from zero_speech import tone_for  # noqa: E402

from telephonist.cli import main as telephonist  # noqa: E402
from telephonist.simulator.caller import CallFailed, TwilioCaller  # noqa: E402
from telephonist.simulator.phone import Phone, Ticker  # noqa: E402
from telephonist.simulator.report import percentiles  # noqa: E402

PUBLIC = "line.example.com"
WEBHOOK = "/webhooks/twilio_media_streams/webhook"
STREAM = "/webhooks/twilio_media_streams/websocket"
# The starter's prompts, as the caller recognises them (by their tones).
MENU = tone_for("Press 1 or say billing, press 2 or say orders, press 3 or say appointments.")
QUESTION = tone_for("Please say or key in your five-digit order number, then press hash.")
STATUS = tone_for("Order 12345 is out for delivery.")


@dataclass
class CallResult:
    """What one call did."""

    outcome: str
    """``finished`` (the caller heard its order's status), or why not."""
    resumes: int = 0
    gaps_ms: list[float] = field(default_factory=list)
    reconnect_ms: list[float] = field(default_factory=list)
    """Of each gap: stream lost → the new stream open (the redirect, the new TwiML)."""
    ended_by: str | None = None


class Instance:
    """``telephonist run`` in its own process, started again after a kill."""

    def __init__(self, name: str, project: Path, log_dir: Path) -> None:
        self.name = name
        self.project = project
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(log_dir / f"{name}.log", "a")  # closed in stop()
        self.process: subprocess.Popen[bytes] | None = None
        self.up = False

    def start(self) -> None:
        """Start the process (see `ready`)."""
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "telephonist",
                "run",
                str(self.project),
                "--port",
                str(self.port),
                "--interface",
                "127.0.0.1",
                "--drain-timeout",
                "0",
            ],
            stderr=self.log,
            env={**os.environ, "PYTHONPATH": str(HERE)},
        )

    async def ready(self, within: float = 120.0) -> float:
        """Wait until it answers /health; the seconds it took."""
        began = time.monotonic()
        async with httpx.AsyncClient(timeout=1) as http, asyncio.timeout(within):
            while True:
                try:
                    if (await http.get(f"{self.base}/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)  # polling a health check, as a load balancer does
        self.up = True
        return time.monotonic() - began

    def kill(self) -> None:
        """SIGKILL: no drain, no goodbye, nothing recorded."""
        assert self.process is not None
        self.up = False
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """Stop at the end of the run."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.log.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_project(path: Path, redis: str, prefix: str) -> None:
    """The starter, on Redis, with zero-latency engines and resume on."""
    with contextlib.redirect_stdout(io.StringIO()):
        assert telephonist(["init", str(path)]) == 0
    host, _, port = redis.partition(":")
    (path / "endpoints.yml").write_text(
        f"tracker_store:\n  type: redis\n  url: {host}\n  port: {port or 6379}\n"
        f"  key_prefix: {prefix}\n  record_exp: 3600\n"
        "action_endpoint:\n  actions_module: actions\n"
    )
    (path / "credentials.yml").write_text(
        f"twilio_media_streams:\n  server_url: {PUBLIC}\n"
        "  asr: {name: zero_speech.KeypadASR}\n  tts: {name: zero_speech.ToneTTS}\n"
        f"  monitor_silence: true\n  stream_token_secret: {uuid.uuid4().hex * 2}\n"
        "  limits: {max_calls: 1000}\n"
    )


async def do_task(phone: Phone, after_press: Any = None) -> str:
    """Listen, press what the prompt heard asks for, until the order's status is heard."""
    seen = 0

    def something_new() -> bool:
        return len(phone.utterances) > seen

    for _ in range(12):
        if not await phone.until(something_new, 45):
            return "dropped" if phone.caller.closed_by_server else "no prompt heard"
        if not await phone.wait_quiet(reply_timeout_s=5, max_s=60):
            return "prompt never ended"
        heard = b"".join(bytes(u.audio) for u in phone.utterances[seen:])
        seen = len(phone.utterances)
        if STATUS in heard:
            await phone.hang_up()
            return "finished"
        keys = "12345#" if QUESTION in heard else "2" if MENU in heard else None
        if keys is not None:
            await phone.press(keys)
            if after_press is not None:
                await after_press(keys)
    return "lost its way"


async def place(
    target: Instance, other: Instance, ticker: Ticker, http: httpx.AsyncClient
) -> Phone:
    """Dial ``target`` as Twilio would, its redirects going to ``other``; the live phone. A
    webhook that fails goes to ``other`` (Twilio's fallback URL), and so does a stream the
    balancer cannot open on ``target`` (it died meanwhile)."""
    caller = TwilioCaller(
        f"{target.base}{WEBHOOK}",
        public_url=f"https://{PUBLIC}{WEBHOOK}",
        redirect_url=other.base,
    )
    try:
        await caller.dial(http)
    except CallFailed:
        caller.webhook_url = f"{other.base}{WEBHOOK}"
        await caller.dial(http)
    phone = Phone(caller, settle_s=0.5)
    try:
        await caller.connect()
    except CallFailed:
        caller.stream_url_override = other.base.replace("http", "ws", 1) + STREAM
        await caller.connect()
    ticker.add(phone)
    return phone


def result_of(phone: Phone, outcome: str) -> CallResult:
    """The call's outcome, resumes and gaps."""
    legs = phone.caller.legs
    reconnects = [
        round((leg.connected_at - before.closed_at) * 1000, 1)
        for before, leg in itertools.pairwise(legs)
        if before.closed_at is not None
    ]
    gaps = phone.caller.resume_gaps_ms()
    return CallResult(outcome, len(legs) - 1, gaps, reconnects, phone.caller.ended_by)


async def kill_rounds(a: Instance, b: Instance, rounds: int) -> dict[str, Any]:
    """One call per round on the instance to be killed, killed mid-task, then restarted."""
    ticker, stop = Ticker(), asyncio.Event()
    ticking = asyncio.create_task(ticker.run(stop))
    results, restarts = [], []
    async with httpx.AsyncClient(timeout=15) as http:
        for n in range(rounds):
            victim, survivor = (a, b) if n % 2 == 0 else (b, a)
            phone = await place(victim, survivor, ticker, http)

            async def kill_when_asked(
                keys: str, victim: Instance = victim, p: Phone = phone
            ) -> None:
                if keys == "2":  # kill while the question is being heard
                    before = p.caller.received_bytes
                    await p.until(lambda: p.caller.received_bytes > before + 1600, 10)
                    victim.kill()

            results.append(result_of(phone, await do_task(phone, kill_when_asked)))
            print(f"round {n + 1}: {results[-1].outcome}, gap {results[-1].gaps_ms} ms", flush=True)
            victim.start()
            restarts.append(await victim.ready())
    stop.set()
    await ticking
    return summary(results, restarts=restarts)


async def failover(
    a: Instance, b: Instance, calls: int, spread: float, kill_at: float
) -> dict[str, Any]:
    """``calls`` calls over both instances; A killed at ``kill_at`` s and restarted."""
    ticker, stop = Ticker(), asyncio.Event()
    ticking = asyncio.create_task(ticker.run(stop))
    results: list[CallResult] = []
    restart: list[float] = []
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(timeout=15, limits=limits) as http:

        async def one(i: int) -> None:
            await asyncio.sleep(i * spread / calls)
            pair = [(a, b), (b, a)][i % 2]
            for target, other in (pair, pair[::-1]):  # the balancer's health check
                if target.up:
                    try:
                        phone = await place(target, other, ticker, http)
                    except (CallFailed, httpx.HTTPError, OSError) as exc:
                        results.append(CallResult(f"not placed: {exc!r}"[:120]))
                        return
                    results.append(result_of(phone, await do_task(phone)))
                    return
            results.append(CallResult("not placed: no instance up"))

        async def killer() -> None:
            await asyncio.sleep(kill_at)
            a.kill()
            print(f"{kill_at:.0f} s: killed {a.name}; restarting it", flush=True)
            a.start()
            restart.append(await a.ready())
            print(f"{a.name} back after {restart[-1]:.1f} s", flush=True)

        await asyncio.gather(killer(), *(one(i) for i in range(calls)))
    stop.set()
    await ticking
    return summary(results, restarts=restart, late_ticks=ticker.late_ticks)


def summary(results: list[CallResult], **extra: Any) -> dict[str, Any]:
    """Counts, resumes and gap percentiles."""
    gaps = [gap for r in results for gap in r.gaps_ms]
    reconnects = [ms for r in results for ms in r.reconnect_ms]
    outcomes = Counter(r.outcome for r in results)
    return {
        "calls": len(results),
        "finished": outcomes["finished"],
        "unfinished": len(results) - outcomes["finished"],
        "outcomes": dict(outcomes),
        "resumed_calls": sum(1 for r in results if r.resumes),
        "resume_gap_ms": percentiles(gaps),
        "reconnect_ms": percentiles(reconnects),
        "unfinished_calls": [asdict(r) for r in results if r.outcome != "finished"][:10],
        **extra,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="telephonist-resume-"))
    project = workdir / "line"
    make_project(project, args.redis, "bench" + uuid.uuid4().hex[:10])
    a, b = Instance("A", project, workdir), Instance("B", project, workdir)
    try:
        for instance in (a, b):
            instance.start()
        await asyncio.gather(a.ready(), b.ready())
        load_before = os.getloadavg()
        if args.calls:
            figures = await failover(a, b, args.calls, args.spread, args.kill_at)
        else:
            figures = await kill_rounds(a, b, args.kills)
    finally:
        for instance in (a, b):
            instance.stop()
    return {
        "mode": "failover" if args.calls else "kills",
        **figures,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "logs": str(workdir),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="rounds of one killed call")
    parser.add_argument("--calls", type=int, default=0, help="calls for the failover run")
    parser.add_argument("--spread", type=float, default=20.0, help="seconds to dial them over")
    parser.add_argument("--kill-at", type=float, default=10.0, help="seconds before A dies")
    parser.add_argument("--redis", default="127.0.0.1:6379", help="HOST:PORT of the Redis")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    report = asyncio.run(run(args))
    gap = report["resume_gap_ms"]
    print(
        f"{report['mode']}: {report['calls']} calls, {report['finished']} finished, "
        f"{report['unfinished']} unfinished, {report['resumed_calls']} resumed; resume gap "
        f"p50 {gap.get('p50', '-')} ms, p95 {gap.get('p95', '-')} ms, max "
        f"{gap.get('max', '-')} ms; load average {report['load_average_before']}"
    )
    if report["unfinished"]:
        print(json.dumps(report["unfinished_calls"], indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
