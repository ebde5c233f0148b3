"""Server-added latency with zero-latency scripted providers, at several call counts.

Starts ``benchmarks/scripted_server.py`` in its own process and drives N simultaneous
simulated Twilio calls from this one, each streaming real recorded speech in real time:

* turn latency (``latency_from_speech_end_ms``): the caller's last voiced frame (frame
  energy on the clip, ``telephonist.simulator.voicing``) → the first non-silent bot audio at
  the caller. The clip is cut mid-word, so its last frame is voiced and the scripted ASR
  finalises on the silent frame after it: the figure is 20 ms of line time plus what the
  server adds. (Before this measure, it ran from that first silent frame.)
* barge-in: the caller's first speech frame while bot audio is playing → ``clear`` at the
  caller (includes the configured ``min_speech_ms``, default 200 ms, and how late Silero
  finds the onset in this clip, which depends on where its 32 ms windows fall);
* barge-in from onset: the server's own figure, from the speech onset as the VAD dates it to
  the ``clear`` sent (``min_speech_ms`` plus every lag of the server);
* server RSS per call and server CPU while the calls run.

``--recording DIR`` records every call (stereo WAV and transcript) into DIR, to measure what
recording costs.

Usage: ``python benchmarks/latency.py --calls 1,50,100,200 --turns 4 [--json out.json]``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.audio_samples (recorded test speech)

from load import cpu_seconds, rss_kb  # noqa: E402
from tests.audio_samples import load_prompt  # noqa: E402

from telephonist.simulator.caller import TwilioCaller  # noqa: E402
from telephonist.simulator.report import percentiles  # noqa: E402
from telephonist.simulator.voicing import first_voiced_frame, last_voiced_frame  # noqa: E402

FRAME = 160
SILENT_FRAME = b"\xff" * FRAME


@dataclass
class LevelResult:
    """Figures for one number of simultaneous calls."""

    calls: int
    turns: int
    latency_from_speech_end_ms: dict[str, float] = field(default_factory=dict)
    barge_in_ms: dict[str, float] = field(default_factory=dict)
    barge_in_onset_ms: dict[str, float] = field(default_factory=dict)
    rss_idle_mb: float = 0.0
    rss_per_call_kb: float = 0.0
    server_cpu_percent: float = 0.0
    generator_cpu_percent: float = 0.0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)


def media_frames(caller: TwilioCaller, frames: list[bytes]) -> list[str]:
    """Twilio ``media`` frames for ``frames``, rendered once (keeps the generator cheap)."""
    payloads = [base64.b64encode(frame).decode() for frame in frames]
    return [
        f'{{"event":"media","sequenceNumber":"{i + 2}","streamSid":"{caller.stream_sid}",'
        f'"media":{{"track":"inbound","chunk":"{i + 1}","timestamp":"{20 * i}",'
        f'"payload":"{payload}"}}}}'
        for i, payload in enumerate(payloads)
    ]


async def speak(
    caller: TwilioCaller,
    frames: list[str],
    clears_before: int | None,
    sent_at: list[float] | None = None,
) -> float | None:
    """Stream frames in real time; with ``clears_before`` (the caller's clear count when bot
    audio is playing), returns seconds from the first frame to the server's ``clear``.
    ``sent_at`` receives the time each frame was sent."""
    start = time.perf_counter()
    next_at = start
    barge = None
    for frame in frames:
        await caller.send_text(frame)
        if sent_at is not None:
            sent_at.append(time.perf_counter())
        if barge is None and clears_before is not None and caller.clears > clears_before:
            barge = time.perf_counter() - start
        next_at += 0.02
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    if barge is None and clears_before is not None:
        try:
            await caller.wait_until(lambda: caller.clears > clears_before, within=2.0)
            barge = time.perf_counter() - start
        except TimeoutError:
            return None
    return barge


def bot_speech(caller: TwilioCaller, since: int) -> float | None:
    """Milliseconds of bot audio before its first non-silent frame after byte ``since`` of
    what was received; None while there is none (nothing is played ahead of it here)."""
    first = first_voiced_frame(bytes(caller.received_audio[since:]))
    return None if first is None else first * FRAME / 8


async def one_call(
    base: str,
    http: httpx.AsyncClient,
    frames: list[bytes],
    turns: int,
    latencies: list[float],
    barge_ins: list[float],
    ready: asyncio.Event,
) -> None:
    """One simulated call: greeting, then ``turns`` of speech, each barging in on the reply."""
    caller = TwilioCaller(
        f"{base}/webhooks/twilio_media_streams/webhook",
        stream_url_override=base.replace("http", "ws") + "/webhooks/twilio_media_streams/websocket",
    )
    await caller.dial(http)
    await caller.connect()
    await caller.wait_until(lambda: len(caller.received_audio) >= 8000, within=30)
    await caller.play_all()
    speech = media_frames(caller, frames)
    last_voiced = last_voiced_frame(b"".join(frames))
    assert last_voiced is not None, "the clip has no speech"
    pause = media_frames(caller, [SILENT_FRAME] * 40)  # 0.8 s
    await ready.wait()
    for turn in range(turns):
        sent_at: list[float] = []
        barge = await speak(caller, speech, caller.clears if turn else None, sent_at)
        if barge is not None:
            barge_ins.append(barge)
        received = len(caller.received_audio)
        await caller.send_text(pause[0])

        def replied(n: int = received) -> bool:
            return bot_speech(caller, n) is not None

        await caller.wait_until(replied, within=30)
        heard_at = time.perf_counter() + (bot_speech(caller, received) or 0) / 1000
        latencies.append(heard_at - sent_at[last_voiced])
        await speak(caller, pause, None)
    await caller.hang_up()


def start_server(
    *command: str, name: str = "the scripted server", recording: Path | None = None
) -> tuple[subprocess.Popen[str], int]:
    """A benchmark server in its own process (by default the scripted one, recording its
    calls into ``recording``), and the port it listens on: it prints ``ready PORT`` once it
    takes calls."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if recording is not None:
        env["BENCH_RECORDING"] = str(recording.resolve())
    server = subprocess.Popen(
        [sys.executable, *(command or (str(ROOT / "benchmarks/scripted_server.py"), "0"))],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert server.stdout is not None
    line = server.stdout.readline().split()
    if line[:1] != ["ready"]:
        server.kill()
        raise RuntimeError(f"{name} did not start")
    return server, int(line[1])


async def run_level(
    pid: int, port: int, calls: int, turns: int, frames: list[bytes]
) -> LevelResult:
    """Run ``calls`` simultaneous calls against the server, collect figures."""
    base = f"http://127.0.0.1:{port}"
    result = LevelResult(calls, turns)
    result.rss_idle_mb = round(rss_kb(pid) / 1024, 1)
    latencies: list[float] = []
    barge_ins: list[float] = []
    ready = asyncio.Event()
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=50)) as http:
        tasks = [
            asyncio.create_task(one_call(base, http, frames, turns, latencies, barge_ins, ready))
            for _ in range(calls)
        ]
        await wait_for_calls(http, base, calls, tasks)
        rss_connected = rss_kb(pid)
        cpu_start, own_start = cpu_seconds(pid), cpu_seconds(os.getpid())
        wall_start = time.perf_counter()
        ready.set()
        await http.get(f"{base}/bench/barge-ins")  # forget the previous level's
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        onsets = (await http.get(f"{base}/bench/barge-ins")).json()
        wall = time.perf_counter() - wall_start
        cpu, own = cpu_seconds(pid) - cpu_start, cpu_seconds(os.getpid()) - own_start
    failures = [type(o).__name__ for o in outcomes if isinstance(o, BaseException)]
    result.errors = len(failures)
    result.error_kinds = {kind: failures.count(kind) for kind in sorted(set(failures))}
    result.rss_per_call_kb = round((rss_connected - result.rss_idle_mb * 1024) / calls, 1)
    result.server_cpu_percent = round(100 * cpu / wall, 1)
    result.generator_cpu_percent = round(100 * own / wall, 1)
    result.latency_from_speech_end_ms = percentiles([s * 1000 for s in latencies])
    result.barge_in_ms = percentiles([s * 1000 for s in barge_ins])
    result.barge_in_onset_ms = percentiles(onsets)
    return result


async def wait_for_calls(
    http: httpx.AsyncClient, base: str, calls: int, tasks: list[asyncio.Task[None]]
) -> None:
    """Poll the server's /health until ``calls`` calls are active (or a call failed)."""
    while (await http.get(f"{base}/health")).json()["active_calls"] < calls:
        failed = [t for t in tasks if t.done() and t.exception() is not None]
        if failed:
            raise RuntimeError(f"a call failed to connect: {failed[0].exception()!r}")
        await asyncio.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", default="1,50,100,200", help="comma-separated call counts")
    parser.add_argument("--turns", type=int, default=4, help="turns per call (default 4)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--recording", type=Path, metavar="DIR", help="record every call into DIR")
    args = parser.parse_args()
    speech = load_prompt("agent-pass").mulaw[:8000]  # 1 s of real speech per turn
    frames = [speech[i : i + FRAME] for i in range(0, len(speech), FRAME)]
    results = []
    for calls in (int(c) for c in args.calls.split(",")):
        server, port = start_server(recording=args.recording)
        try:
            result = asyncio.run(run_level(server.pid, port, calls, args.turns, frames))
        finally:
            server.terminate()
            server.wait(10)
        results.append(result)
        t, b, o = result.latency_from_speech_end_ms, result.barge_in_ms, result.barge_in_onset_ms
        print(
            f"{calls:4d} calls: last voiced frame → bot speech p50 {t.get('p50')} ms"
            f" p95 {t.get('p95')} ms"
            f" (n={t.get('n')}) | barge-in p50 {b.get('p50')} ms p95 {b.get('p95')} ms"
            f" (from VAD onset p50 {o.get('p50')} p95 {o.get('p95')} ms)"
            f" | RSS {result.rss_per_call_kb} kB/call (idle {result.rss_idle_mb} MB)"
            f" | CPU server {result.server_cpu_percent}%"
            f" generator {result.generator_cpu_percent}% | errors {result.errors}"
            + (f" {result.error_kinds}" if result.errors else ""),
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    main()
