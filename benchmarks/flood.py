"""Fairness: one call's turn latency while another call floods speech at 100x real time.

Starts ``benchmarks/scripted_server.py`` with the embedded Whisper ASR (``BENCH_ASR=local``:
the shared VAD batcher and ASR worker pool are what a flood could monopolise) and places two
calls from this process:

* the *speaker* talks like a person: a recorded prompt in real time, a pause, the bot's
  answer, again; its turn latency is its last voiced frame (frame energy on the prompt,
  ``telephonist.simulator.voicing``) → the bot's first non-silent audio (before this
  measure, it ran from the prompt's last frame, trailing silence included);
* the *flooder* sends recorded speech with pauses (so the ASR has utterances to transcribe)
  as fast as ``--flood-speed`` times real time allows, for ``--flood-seconds``.

It runs the speaker alone, then with the flood, and prints the speaker's latencies in both,
what the server did with the flood (frames dropped over the media budget, from /metrics),
and the largest turn latency /metrics recorded. ``--json FILE`` writes the figures.

Usage: ``python benchmarks/flood.py [--turns 6] [--flood-speed 100] [--json flood.json]``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import load  # noqa: E402
from load import cpu_seconds, machine_busy_seconds  # noqa: E402
from tests.audio_samples import load_prompt, silence  # noqa: E402

from telephonist.simulator.caller import TwilioCaller  # noqa: E402
from telephonist.simulator.report import percentiles  # noqa: E402
from telephonist.simulator.voicing import first_voiced_frame, last_voiced_frame  # noqa: E402

FRAME = 160
PROMPTS = ("agent-pass", "agent-user", "agent-loginok", "agent-incorrect")


@dataclass
class Phase:
    """The speaker's turns in one phase (alone, or beside the flood)."""

    name: str
    latency_ms: dict[str, float] = field(default_factory=dict)
    turns_ms: list[float] = field(default_factory=list)
    lost_turns: int = 0
    flood_frames_sent: int = 0
    flood_frames_dropped: float = 0.0
    flood_seconds: float = 0.0
    server_cpu_percent: float = 0.0
    generator_cpu_percent: float = 0.0
    other_cpu_percent: float = 0.0
    """CPU used meanwhile by everything else on the machine (a shared machine skews this)."""


def frames_of(audio: bytes) -> list[bytes]:
    """20 ms frames (the last one padded with silence)."""
    audio += b"\xff" * (-len(audio) % FRAME)
    return [audio[i : i + FRAME] for i in range(0, len(audio), FRAME)]


def media_texts(caller: TwilioCaller, frames: list[bytes]) -> list[str]:
    """Twilio ``media`` frames, rendered once so the generator stays cheap."""
    return [
        f'{{"event":"media","streamSid":"{caller.stream_sid}","media":{{"track":"inbound",'
        f'"chunk":"{i + 1}","timestamp":"{20 * i}","payload":"{base64.b64encode(f).decode()}"}}}}'
        for i, f in enumerate(frames)
    ]


def caller_for(base: str) -> TwilioCaller:
    """A simulated Twilio caller for the server at ``base``, counting audio, not keeping it."""
    return TwilioCaller(
        f"{base}/webhooks/twilio_media_streams/webhook",
        stream_url_override=base.replace("http", "ws") + "/webhooks/twilio_media_streams/websocket",
        keep_audio=False,
    )


async def speaker(base: str, turns: int, reply_within: float) -> tuple[list[float], int]:
    """One caller taking ``turns`` turns in real time; latencies (s) and turns lost."""
    caller = caller_for(base)
    await caller.dial()
    await caller.connect()
    await caller.wait_until(lambda: caller.received_bytes > 0, within=30)
    quiet = media_texts(caller, frames_of(silence(0.02)))[0]
    latencies: list[float] = []
    lost = 0
    heard: list[float] = []  # when the bot's first speech since the caller stopped arrived

    def listen(message: dict[str, Any]) -> None:
        if message.get("event") == "media" and not heard:
            first = first_voiced_frame(base64.b64decode(message["media"]["payload"]))
            if first is not None:  # heard after the silence before it (nothing queued here)
                heard.append(time.perf_counter() + first * FRAME / 8000)

    caller.listeners.append(listen)
    for turn in range(turns):
        await caller.play_all()
        prompt = load_prompt(PROMPTS[turn % len(PROMPTS)]).mulaw
        speech = media_texts(caller, frames_of(prompt))
        last_voiced, spoke_until = last_voiced_frame(prompt) or 0, 0.0
        ticks = time.perf_counter()
        for i, text in enumerate(speech):  # a phone line: one frame every 20 ms
            await caller.send_text(text)
            if i == last_voiced:
                spoke_until = time.perf_counter()
                heard.clear()
            ticks += 0.02
            await asyncio.sleep(max(0.0, ticks - time.perf_counter()))
        ended = time.perf_counter()
        while not heard and time.perf_counter() - ended < reply_within:
            await caller.send_text(quiet)
            ticks += 0.02
            await asyncio.sleep(max(0.0, ticks - time.perf_counter()))
        if not heard:
            lost += 1
        else:
            latencies.append(heard[0] - spoke_until)
        for _ in range(50):  # the reply arrives; a second of quiet before the next turn
            await caller.send_text(quiet)
            await asyncio.sleep(0.02)
    await caller.hang_up()
    return latencies, lost


async def flooder(
    base: str, speed: float, seconds: float, stop: asyncio.Event
) -> tuple[int, float]:
    """A caller sending speech with pauses at ``speed`` x real time until ``stop`` (or
    ``seconds``); frames sent and for how long."""
    caller = caller_for(base)
    await caller.dial()
    await caller.connect()
    speech = b"".join(load_prompt(p).mulaw + silence(0.8) for p in PROMPTS)
    texts = media_texts(caller, frames_of(speech))
    sent, began = 0, time.perf_counter()
    while not stop.is_set() and time.perf_counter() - began < seconds:
        await caller.send_text(texts[sent % len(texts)])
        sent += 1
        ahead = sent * 0.02 / speed - (time.perf_counter() - began)
        if ahead > 0.005:
            await asyncio.sleep(ahead)
        elif sent % 50 == 0:
            await asyncio.sleep(0)  # let the speaker's task run
    elapsed = time.perf_counter() - began
    await caller.hang_up()
    return sent, elapsed


def metric(text: str, name: str, label: str = "") -> float:
    """Sum of one series of a /metrics text (optionally one label's)."""
    pattern = rf"^{name}(\{{[^}}]*{re.escape(label)}[^}}]*\}})? (\S+)$"
    return sum(float(m[1]) for m in re.findall(pattern, text, re.M))


class CPU:
    """CPU time of the server, this process and the rest of the machine over a phase."""

    def __init__(self, server_pid: int) -> None:
        self.pid = server_pid
        self.at = (time.perf_counter(), cpu_seconds(server_pid), cpu_seconds(os.getpid()))
        self.machine = machine_busy_seconds()

    def into(self, phase: Phase) -> None:
        """Percent of one core each used since construction."""
        wall = time.perf_counter() - self.at[0]
        server = cpu_seconds(self.pid) - self.at[1]
        own = cpu_seconds(os.getpid()) - self.at[2]
        phase.server_cpu_percent = round(100 * server / wall)
        phase.generator_cpu_percent = round(100 * own / wall)
        other = machine_busy_seconds() - self.machine - server - own
        phase.other_cpu_percent = round(100 * max(0.0, other) / wall)


async def run(args: argparse.Namespace, base: str, server_pid: int) -> dict[str, object]:
    """The two phases against one server."""
    phases = []
    alone = Phase("alone")
    cpu = CPU(server_pid)
    latencies, alone.lost_turns = await speaker(base, args.turns, args.reply_timeout)
    cpu.into(alone)
    alone.turns_ms = [round(s * 1000) for s in latencies]
    alone.latency_ms = percentiles(alone.turns_ms)
    phases.append(alone)

    flood = Phase("with flood")
    async with httpx.AsyncClient(timeout=30) as http:
        before = (await http.get(f"{base}/metrics")).text
        stop = asyncio.Event()
        cpu = CPU(server_pid)
        flooding = asyncio.create_task(flooder(base, args.flood_speed, args.flood_seconds, stop))
        latencies, flood.lost_turns = await speaker(base, args.turns, args.reply_timeout)
        stop.set()
        flood.flood_frames_sent, elapsed = await flooding
        cpu.into(flood)
        flood.flood_seconds = round(elapsed, 1)
        after = (await http.get(f"{base}/metrics")).text
    rejected = "telephonist_rejected_messages_total"
    flood.flood_frames_dropped = metric(after, rejected, "faster than real time") - metric(
        before, rejected, "faster than real time"
    )
    flood.turns_ms = [round(s * 1000) for s in latencies]
    flood.latency_ms = percentiles(flood.turns_ms)
    phases.append(flood)
    turns = "telephonist_turn_latency_seconds"
    over_5s = metric(after, f"{turns}_bucket", 'le="+Inf"') - metric(
        after, f"{turns}_bucket", 'le="5.0"'
    )
    return {
        "phases": [asdict(p) for p in phases],
        "metrics_turns": metric(after, f"{turns}_count"),
        "metrics_turns_over_5s": over_5s,
        "metrics_turn_latency_sum_s": round(metric(after, f"{turns}_sum"), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=6, help="speaker turns per phase")
    parser.add_argument("--flood-speed", type=float, default=100.0, help="x real time")
    parser.add_argument(
        "--flood-seconds",
        type=float,
        default=120.0,
        help="longest flood (it stops sooner when the speaker's turns are over)",
    )
    parser.add_argument("--reply-timeout", type=float, default=20.0, help="a turn is lost after")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    server = load.Server(env={"BENCH_ASR": "local"})
    try:
        figures = asyncio.run(run(args, server.base, server.pid))
    finally:
        server.stop()
    for phase in figures["phases"]:  # type: ignore[attr-defined]
        lat = phase["latency_ms"]
        line = (
            f"speaker {phase['name']:>10}: turn latency p50 {lat.get('p50')} ms,"
            f" max {lat.get('max')} ms (n={lat.get('n')}, lost {phase['lost_turns']};"
            f" each: {phase['turns_ms']}) | CPU server {phase['server_cpu_percent']}%,"
            f" generator {phase['generator_cpu_percent']}%, others {phase['other_cpu_percent']}%"
        )
        if phase["flood_frames_sent"]:
            line += (
                f" | flood: {phase['flood_frames_sent']} frames in {phase['flood_seconds']} s"
                f" ({phase['flood_frames_sent'] * 0.02 / phase['flood_seconds']:.0f}x real time),"
                f" {phase['flood_frames_dropped']:.0f} dropped by the server"
            )
        print(line, flush=True)
    print(
        f"/metrics: {figures['metrics_turns']:.0f} turns recorded, "
        f"{figures['metrics_turns_over_5s']:.0f} over 5 s, "
        f"sum {figures['metrics_turn_latency_sum_s']} s"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
