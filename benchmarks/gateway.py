"""Gateway benchmark: the latency the Rasa gateway adds to a turn.

    python benchmarks/gateway.py [--calls 1,50,200] [--seconds 20] [--json gateway.json]

A fake Rasa server that answers at once (a bare ASGI app under uvicorn, in its own process)
stands in for Rasa, so every millisecond measured is the gateway's: building the message,
the HTTP round trip over loopback through the shared connection pool, reading the answer
into a turn. For each level, N calls run at once in this process, each sending a first
message, then one caller turn every ``--period`` seconds (as the load benchmark's callers:
1 s of speech, 4 s of reply), the calls' turns staggered at random offsets; the figures are
``RasaAssistant.handle`` times of the caller turns, p50/p95/p99 in milliseconds. Each level
is then run again with bare HTTP requests (one aiohttp session, the same pool and pacing), the
floor that the machine itself sets: on a shared machine its tail is scheduling, not code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from telephonist.dialogue.turns import UserText
from telephonist.gateway import GatewaySettings, RasaAssistant
from telephonist.gateway.client import KEEPALIVE_S
from telephonist.server.serve import run_on_loop
from telephonist.simulator.report import percentiles

ANSWER = json.dumps(
    [
        {"recipient_id": "caller", "text": "Your order left our warehouse today."},
        {"recipient_id": "caller", "custom": {"allow_interruptions": False}},
    ]
).encode()


class FakeRasa(asyncio.Protocol):
    """A Rasa REST channel that answers every request at once with the same messages: a bare
    HTTP/1.1 keep-alive responder, so that the fake's own cost stays out of the figures."""

    RESPONSE = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(ANSWER)}\r\n\r\n".encode()
        + ANSWER
    )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport  # uvloop's transports are not asyncio.Transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            length = 0
            if (at := head.find(b"content-length:")) >= 0:
                length = int(head[at + 15 :].split(b"\r\n", 1)[0])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(self.RESPONSE)


def serve_fake(port: int) -> None:
    """Run the fake Rasa (in the child process)."""

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(FakeRasa, "127.0.0.1", port)
        await server.serve_forever()

    run_on_loop(serve())


Turn = Callable[[str], Awaitable[object]]


async def one_call(
    turn: Turn, number: int, until: float, period: float, times: list[float]
) -> None:
    """One call: a turn every ``period`` s from a random offset until ``until``."""
    call = f"CA{number:032d}"
    await turn(call)  # the session start: connections open, as at a call's greeting
    await asyncio.sleep(random.uniform(0, period))
    while time.monotonic() < until:
        began = time.perf_counter()
        await turn(call)
        times.append((time.perf_counter() - began) * 1000)
        await asyncio.sleep(period)


async def level(url: str, calls: int, seconds: float, period: float, bare: bool) -> dict[str, Any]:
    """Figures for ``calls`` concurrent calls, through the gateway or (``bare``) as plain
    HTTP requests from one aiohttp session with the same pool: the machine's own floor."""
    times: list[float] = []
    cpu0, wall0 = time.process_time(), time.monotonic()
    until = wall0 + seconds
    assistant = RasaAssistant(GatewaySettings(url=url, timeout=5.0))
    connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=KEEPALIVE_S)
    session = aiohttp.ClientSession(connector=connector)
    webhook = url + "/webhooks/rest/webhook"

    async def gateway_turn(call: str) -> object:
        return await assistant.handle(call, UserText("where is my order", confidence=0.9))

    async def bare_turn(call: str) -> object:
        body = {"sender": call, "message": "where is my order", "metadata": {"call_id": call}}
        async with session.post(webhook, json=body) as response:
            return await response.json()

    turn = bare_turn if bare else gateway_turn
    try:
        await asyncio.gather(*(one_call(turn, n, until, period, times) for n in range(calls)))
    finally:
        await assistant.close()
        await session.close()
    wall = time.monotonic() - wall0
    return {
        "calls": calls,
        "turn_ms": percentiles(times),
        "client_cpu_percent": round(100 * (time.process_time() - cpu0) / wall, 1),
    }


def free_port() -> int:
    """A free loopback port for the fake."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_ready(url: str) -> None:
    """Until the fake answers."""
    import httpx

    async with httpx.AsyncClient() as http:
        for _ in range(200):
            try:
                await http.post(url + "/webhooks/rest/webhook", json={})
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.05)
    raise SystemExit("the fake Rasa did not start")


async def run(args: argparse.Namespace, url: str) -> list[dict[str, Any]]:
    """Every level in turn."""
    await wait_ready(url)
    results = []
    for calls in args.calls:
        result = await level(url, calls, args.seconds, args.period, bare=False)
        floor = await level(url, calls, args.seconds, args.period, bare=True)
        result["bare_http_ms"] = floor["turn_ms"]
        turn, bare = result["turn_ms"], floor["turn_ms"]
        print(
            f"{calls:>4} calls  bare HTTP p50 {bare['p50']:5.1f} / p95 {bare['p95']:5.1f} ms  |  "
            f"gateway ({turn['n']} turns) p50 {turn['p50']:5.1f} / p95 {turn['p95']:5.1f} / "
            f"p99 {turn['p99']:5.1f} ms  client CPU {result['client_cpu_percent']:4.1f} %",
            flush=True,
        )
        results.append(result)
    return results


def main() -> None:
    """Start the fake Rasa, measure each level, print and optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", default="1,50,200", help="levels (default 1,50,200)")
    parser.add_argument("--seconds", type=float, default=20.0, help="per level (default 20)")
    parser.add_argument("--period", type=float, default=5.0, help="s between a call's turns")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_fake(args.serve)
        return
    args.calls = [int(c) for c in args.calls.split(",")]
    port = free_port()
    fake = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        results = run_on_loop(run(args, f"http://127.0.0.1:{port}"))
    finally:
        fake.terminate()
        fake.wait()
    if args.json:
        report = {
            "benchmark": "gateway",
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "seconds": args.seconds,
            "period_s": args.period,
            "levels": results,
        }
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)


if __name__ == "__main__":
    main()
