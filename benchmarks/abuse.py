"""What an attacker who can reach the port can make one server process hold, and for how long.

Starts ``benchmarks/scripted_server.py`` (default limits unless noted) and, from this process:

1. opens ``--idle-websockets`` media websockets that never send ``start``, and
2. ``--idle-tcp`` raw TCP connections that never send a request (a tenth of them trickle a
   header line every 2 s), then reports, second by second, how many the server still holds
   (its open file descriptors), when they were all dropped, and whether ``/health`` and a
   real call were served meanwhile;
3. sends ``--hostile-starts`` start frames with a 15 kB ``mediaFormat.encoding`` (on as many
   connections as the server allows) and reports the growth of ``/metrics`` and of the log;
4. with ``--guard-cost``, measures the server CPU per HTTP request (a new connection each)
   with the request-deadline guard and without it (``BENCH_GUARD=off``).

``--json FILE`` writes the figures. Run on a checkout from before the limits to compare.
Usage: ``python benchmarks/abuse.py [--idle-websockets 3000] [--idle-tcp 5000] [--json f]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import websockets

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import load  # noqa: E402
from flood import caller_for  # noqa: E402
from load import cpu_seconds, rss_kb  # noqa: E402

WS_PATH = "/webhooks/twilio_media_streams/websocket"


class Server(load.Server):
    """The scripted server with the default limits, logging as ``telephonist run`` does."""

    def __init__(self, **env: str) -> None:
        super().__init__(env={"BENCH_WARNINGS": "1", "BENCH_LIMITS": "default", **env})
        self.port = int(self.base.rsplit(":", 1)[1])

    def fds(self) -> int:
        """Open file descriptors of the server (sockets included)."""
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def log_bytes(self) -> int:
        """Size of what the server has logged."""
        return os.fstat(self.log.fileno()).st_size


async def health_ms(base: str) -> float | None:
    """Time to answer GET /health on a new connection, or None if it failed."""
    began = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            answer = await http.get(f"{base}/health")
        return round((time.perf_counter() - began) * 1000, 1) if answer.is_success else None
    except httpx.HTTPError:
        return None


async def real_call(base: str) -> bool:
    """Whether a call is answered and greeted."""
    caller = caller_for(base)
    try:
        await caller.dial()
        await caller.connect()
        await caller.wait_until(lambda: caller.received_bytes > 0, within=10)
        await caller.hang_up()
        return True
    except Exception:  # any failure is the figure
        return False


async def watch(server: Server, baseline: int, seconds: float) -> dict[str, Any]:
    """Descriptors held above ``baseline`` each second until they are gone (or ``seconds``)."""
    began, held = time.perf_counter(), []
    dropped_after = None
    while time.perf_counter() - began < seconds:
        extra = server.fds() - baseline
        held.append(extra)
        if extra <= 5:
            dropped_after = round(time.perf_counter() - began, 1)
            break
        await asyncio.sleep(1)
    return {"held_each_second": held, "all_dropped_after_s": dropped_after}


async def idle_websockets(server: Server, count: int, seconds: float) -> dict[str, Any]:
    """Open ``count`` websockets that never send start; how long the server keeps them."""
    baseline = server.fds()
    url = server.base.replace("http", "ws") + WS_PATH
    opened: list[Any] = []
    failed = 0
    began = time.perf_counter()
    for _ in range(count):
        try:
            opened.append(await websockets.connect(url, open_timeout=5, ping_interval=None))
        except (OSError, websockets.InvalidHandshake, TimeoutError):
            failed += 1
    figures = {
        "opened": len(opened),
        "refused": failed,
        "open_seconds": round(time.perf_counter() - began, 1),
        "server_fds_after_opening": server.fds() - baseline,
        "server_rss_mb": round(rss_kb(server.pid) / 1024, 1),
        "health_ms_meanwhile": await health_ms(server.base),
        "call_meanwhile": await real_call(server.base),
    }
    figures.update(await watch(server, baseline, seconds))
    for ws in opened:
        with contextlib.suppress(Exception):
            await ws.close()
    return figures


async def idle_tcp(server: Server, count: int, seconds: float) -> dict[str, Any]:
    """``count`` raw connections sending nothing (a tenth trickle a header line every 2 s)."""
    baseline = server.fds()
    writers: list[asyncio.StreamWriter] = []
    failed = 0
    for _ in range(count):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writers.append(writer)
        except OSError:
            failed += 1
    trickling = writers[: len(writers) // 10]
    for writer in trickling:
        writer.write(b"GET /health HTTP/1.1\r\n")

    async def trickle() -> None:
        while True:
            await asyncio.sleep(2)
            for writer in trickling:
                if not writer.is_closing():
                    writer.write(b"X-Slow: 1\r\n")

    task = asyncio.create_task(trickle())
    figures = {
        "opened": len(writers),
        "refused": failed,
        "server_fds_after_opening": server.fds() - baseline,
        "health_ms_meanwhile": await health_ms(server.base),
        "call_meanwhile": await real_call(server.base),
    }
    figures.update(await watch(server, baseline, seconds))
    task.cancel()
    for writer in writers:
        writer.close()
    return figures


def rejected(metrics: str) -> int:
    """Frames the server counted as rejected, from its /metrics text."""
    prefix = "telephonist_rejected_messages_total{"
    lines = [line for line in metrics.splitlines() if line.startswith(prefix)]
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in lines))


async def hostile_starts(server: Server, frames: int) -> dict[str, Any]:
    """Start frames with a 15 kB encoding until the server has refused ``frames`` of them
    (on as many connections as that takes); growth of /metrics and of the log."""

    def start(n: int) -> str:  # each encoding different, as a label value would be
        encoding = f"{n:06d}" + "x" * 15_000
        return json.dumps(
            {
                "event": "start",
                "streamSid": "MZ1",
                "start": {
                    "streamSid": "MZ1",
                    "callSid": "CA" + "0" * 32,
                    "mediaFormat": {"encoding": encoding, "sampleRate": 8000},
                },
            }
        )

    url = server.base.replace("http", "ws") + WS_PATH
    async with httpx.AsyncClient(timeout=30) as http:
        metrics = (await http.get(f"{server.base}/metrics")).text
        metrics_before, refused_before = len(metrics), rejected(metrics)
        log_before = server.log_bytes()
        connections = refused = 0
        while refused < frames:
            connections += 1
            async with websockets.connect(url, ping_interval=None) as ws:
                with contextlib.suppress(websockets.ConnectionClosed, TimeoutError):
                    for n in range(min(50, frames - refused)):
                        await ws.send(start(refused + n))
                    async with asyncio.timeout(2):  # the server closes it (or keeps reading)
                        await ws.recv()
            refused = rejected((await http.get(f"{server.base}/metrics")).text) - refused_before
        await asyncio.sleep(0.5)  # the server's last log lines
        metrics_after = len((await http.get(f"{server.base}/metrics")).content)
    return {
        "frames_refused": refused,
        "connections": connections,
        "metrics_bytes_before": metrics_before,
        "metrics_bytes_after": metrics_after,
        "log_bytes_added": server.log_bytes() - log_before,
    }


async def request_cost(server: Server, requests: int) -> float:
    """Server CPU microseconds per GET /health, each on a new connection."""
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=10, limits=limits) as http:
        for _ in range(200):  # warm up
            await http.get(f"{server.base}/health")
        cpu = cpu_seconds(server.pid)
        for _ in range(requests // 20):
            await asyncio.gather(*(http.get(f"{server.base}/health") for _ in range(20)))
        return round((cpu_seconds(server.pid) - cpu) / requests * 1e6, 1)


async def arm_and_disarm_us(times: int = 100_000) -> float:
    """What the guard adds to one request in itself: a timer armed and cancelled, and the
    connection entered into and removed from the idle registry."""
    from telephonist.server.idle import IdleConnections

    loop, idle = asyncio.get_running_loop(), IdleConnections()
    began = time.perf_counter()
    for key in range(times):
        timer = loop.call_later(10.0, print)
        idle.add(key, print)
        timer.cancel()
        idle.discard(key)
    return round((time.perf_counter() - began) / times * 1e6, 2)


def guard_cost(requests: int, rounds: int) -> dict[str, Any]:
    """CPU per request with and without the guard (best of ``rounds`` each, alternating)."""
    costs: dict[str, list[float]] = {"guard": [], "no guard": []}
    for _ in range(rounds):
        for name, env in (("guard", {}), ("no guard", {"BENCH_GUARD": "off"})):
            server = Server(**env)
            try:
                costs[name].append(asyncio.run(request_cost(server, requests)))
            finally:
                server.stop()
    figures: dict[str, Any] = {n: {"us_per_request": min(v), "all": v} for n, v in costs.items()}
    import uvloop

    figures["arm_and_disarm_us"] = uvloop.run(arm_and_disarm_us())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle-websockets", type=int, default=3000)
    parser.add_argument("--idle-tcp", type=int, default=5000)
    parser.add_argument("--hostile-starts", type=int, default=2000)
    parser.add_argument("--watch-seconds", type=float, default=30.0, help="give up after")
    parser.add_argument("--guard-cost", type=int, default=0, metavar="N", help="N requests")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    runs: list[tuple[str, Callable[[Server], Coroutine[Any, Any, dict[str, Any]]]]] = [
        ("idle_websockets", lambda s: idle_websockets(s, args.idle_websockets, args.watch_seconds)),
        ("idle_tcp", lambda s: idle_tcp(s, args.idle_tcp, args.watch_seconds)),
        ("hostile_starts", lambda s: hostile_starts(s, args.hostile_starts)),
    ]
    for name, run in runs:
        server = Server()
        try:
            figures[name] = asyncio.run(run(server))
        finally:
            server.stop()
        print(f"{name}: {json.dumps(figures[name])}", flush=True)
    if args.guard_cost:
        figures["guard_cost"] = guard_cost(args.guard_cost, rounds=3)
        print(f"guard_cost: {json.dumps(figures['guard_cost'])}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
