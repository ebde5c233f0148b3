"""False barge-ins and real barge-in reaction, with barge-ins on hold off and on, in one run.

A real server (its own process: Silero VAD, the local Whisper ASR, the local voice, an
assistant that greets with a 14 s message) answers simulated Twilio calls. In each call the
caller hears 1 to 4 s of the greeting, then plays one clip over it in real time and keeps
streaming quiet: a non-word sound (noise burst, cough, laugh, hum, backchannel word;
`benchmarks/barge_in_clips.py`) or a real interruption (recorded speech). Measured from the
caller's side:

* false barge-in: a non-word clip stopped the bot (``clear``) and the greeting never came
  back — the audio after the ``clear`` is not a replay of the greeting;
* hold: ``clear`` → the first resumed audio at the caller (the gap the caller hears);
* real barge-in reaction: the clip's first frame → ``clear`` at the caller, and the server's
  own figure (speech onset as the VAD dates it → ``clear``, the ``barge_in`` event's
  ``onset_to_clear_ms``); and how often a real interruption was resumed instead.

Usage: ``python benchmarks/barge_in.py --per-kind 12 --speech 24 --json barge_in.json``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from barge_in_clips import Clip, non_word_clips, real_interruptions
from barge_in_server import serve_forever
from latency import start_server

from telephonist.config.channel import DEFAULT_RESUME_AFTER_MS
from telephonist.simulator.caller import TwilioCaller
from telephonist.simulator.report import percentiles

FRAME = 160
SILENT = b"\xff" * FRAME
SAME_AUDIO = 4000
"""Bytes after a ``clear`` compared with the audio before it: a replay of the greeting? Half
a second, so a reply's leading silence cannot pass for one."""


@dataclass
class Trial:
    """One call: one clip over the greeting, and what the caller experienced."""

    clip: str
    kind: str
    words: bool
    lead_s: float
    outcome: str = "ignored"
    """ignored (no clear), stopped (for good) or resumed."""
    reaction_ms: float | None = None
    """Caller side: the clip's first frame → clear."""
    onset_to_clear_ms: float | None = None
    """Server side: VAD-dated onset → clear."""
    hold_ms: float | None = None
    """Caller side: clear → resumed audio."""
    finals: list[str] = field(default_factory=list)
    error: str | None = None


class Streamer:
    """The caller's phone in real time: every 20 ms it sends a frame (quiet when there is
    nothing to say, as a phone line does) and plays 20 ms of the bot's audio."""

    def __init__(self, caller: TwilioCaller) -> None:
        self.caller = caller
        self.pending = bytearray()
        self.first_sent: float | None = None
        self.done = asyncio.Event()
        self.heard_ms = 0.0
        self._heard = asyncio.Event()
        self._target = float("inf")
        self._task = asyncio.create_task(self._run())

    async def until_heard(self, ms: float) -> None:
        """Wait until the caller has heard ``ms`` of bot audio."""
        self._target = ms
        await self._heard.wait()

    def say(self, audio: bytes) -> None:
        """Queue ``audio`` (whole frames; the last one padded with quiet)."""
        self.pending += audio + SILENT[: -len(audio) % FRAME or 0]
        self.first_sent = None
        self.done.clear()

    async def _run(self) -> None:
        next_at = time.perf_counter()
        while True:
            frame = SILENT
            if self.pending:
                frame, self.pending[:FRAME] = bytes(self.pending[:FRAME]), b""
                if self.first_sent is None:
                    self.first_sent = time.perf_counter()
                if not self.pending:
                    self.done.set()
            await self.caller.send_audio(frame)
            self.heard_ms += len(await self.caller.play_heard(20)) / 8
            if self.heard_ms >= self._target:
                self._heard.set()
            next_at += 0.02
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    async def stop(self) -> None:
        """Stop streaming."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def run_trial(
    base: str, http: httpx.AsyncClient, clip: Clip, lead_s: float, observe_s: float = 6.0
) -> Trial:
    """One call: hear ``lead_s`` of the greeting, play ``clip``, watch what follows."""
    trial = Trial(clip.name, clip.kind, clip.words, round(lead_s, 2))
    caller = TwilioCaller(
        f"{base}/webhooks/twilio_media_streams/webhook",
        stream_url_override=base.replace("http", "ws") + "/webhooks/twilio_media_streams/websocket",
    )
    clears: list[tuple[float, int]] = []  # (when, bytes received before it)
    audio_after: list[float] = []  # when bot audio came after the first clear

    def watch(message: dict[str, Any]) -> None:
        if message.get("event") == "clear":
            clears.append((time.perf_counter(), len(caller.received_audio)))
        elif message.get("event") == "media" and clears and not audio_after:
            audio_after.append(time.perf_counter())

    caller.listeners.append(watch)
    await caller.dial(http)
    await caller.connect()
    streamer = Streamer(caller)
    try:
        async with asyncio.timeout(30):
            await streamer.until_heard(lead_s * 1000)
        streamer.say(clip.mulaw)
        await streamer.done.wait()
        assert streamer.first_sent is not None
        with contextlib.suppress(TimeoutError):
            await caller.wait_until(
                lambda: bool(clears) and len(caller.received_audio) >= clears[0][1] + SAME_AUDIO,
                within=observe_s,
            )
        if clears:
            at, before = clears[0]
            trial.reaction_ms = round((at - streamer.first_sent) * 1000, 1)
            audio = bytes(caller.received_audio)
            after = audio[before : before + SAME_AUDIO]
            replay = len(after) == SAME_AUDIO and after in audio[:before]
            trial.outcome = "resumed" if replay else "stopped"
            if replay:
                trial.hold_ms = round((audio_after[0] - at) * 1000, 1)
        events = (await http.get(f"{base}/bench/events/{caller.call_sid}")).json()
        onsets = [e["onset_to_clear_ms"] for e in events if e["kind"] == "barge_in"]
        trial.onset_to_clear_ms = onsets[0] if onsets and onsets[0] is not None else None
        trial.finals = [e["text"] for e in events if e["kind"] == "asr.final"]
    finally:
        await streamer.stop()
        await caller.hang_up()
    return trial


async def run_rule(
    base: str, clips: Sequence[Clip], leads: Sequence[float], concurrency: int
) -> list[Trial]:
    """Every clip in its own call, ``concurrency`` calls at a time."""
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30) as http:

        async def one(clip: Clip, lead: float) -> Trial:
            async with gate:
                try:
                    return await run_trial(base, http, clip, lead)
                except Exception as exc:  # a failed call is counted, not fatal
                    return Trial(clip.name, clip.kind, clip.words, lead, "error", error=repr(exc))

        calls = (one(clip, lead) for clip, lead in zip(clips, leads, strict=True))
        return list(await asyncio.gather(*calls))


def summarise(trials: Sequence[Trial]) -> dict[str, Any]:
    """The figures of one rule."""
    sounds = [t for t in trials if not t.words and t.outcome != "error"]
    speech = [t for t in trials if t.words and t.outcome != "error"]
    cut = [t for t in sounds if t.outcome != "ignored"]
    for_good = [t for t in sounds if t.outcome == "stopped"]
    kinds = {}
    for kind in sorted({t.kind for t in sounds}):
        of = [t for t in sounds if t.kind == kind]
        kinds[kind] = {
            "n": len(of),
            "stopped_bot": sum(t.outcome != "ignored" for t in of),
            "stopped_for_good": sum(t.outcome == "stopped" for t in of),
        }
    return {
        "non_word": {
            "n": len(sounds),
            "stopped_bot": len(cut),
            "stopped_for_good": len(for_good),
            "false_barge_in_rate": round(len(for_good) / len(sounds), 3) if sounds else None,
            "resumed": sum(t.outcome == "resumed" for t in sounds),
            "hold_ms": percentiles([t.hold_ms for t in sounds if t.hold_ms is not None]),
            "by_kind": kinds,
        },
        "real": {
            "n": len(speech),
            "missed": sum(t.outcome == "ignored" for t in speech),
            "resumed_wrongly": sum(t.outcome == "resumed" for t in speech),
            "reaction_ms": percentiles([t.reaction_ms for t in speech if t.reaction_ms]),
            "onset_to_clear_ms": percentiles(
                [t.onset_to_clear_ms for t in speech if t.onset_to_clear_ms is not None]
            ),
        },
        "errors": sum(t.outcome == "error" for t in trials),
    }


def start_rule_server(resume_after_ms: int) -> tuple[subprocess.Popen[str], int]:
    """The server with the embedded engines and this ``resume_after_ms``, in its own
    process, and its port."""
    command = (__file__, "--serve", "--resume-after-ms", str(resume_after_ms))
    return start_server(*command, name="the barge-in benchmark's server")


def _fmt(p: dict[str, float]) -> str:
    return f"{p['p50']:.0f} / {p['p95']:.0f}" if p else "-"


def print_table(results: dict[str, dict[str, Any]]) -> None:
    """The figures side by side, one row per rule."""
    print(
        "| rule | non-word clips | stopped the bot | stopped for good (false barge-in) "
        "| resumed, hold p50 / p95 ms | real interruptions | cut, missed, resumed wrongly "
        "| caller: first frame → clear p50 / p95 ms | server: onset → clear p50 / p95 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for rule, r in results.items():
        s, w = r["non_word"], r["real"]
        rate = f"{100 * s['false_barge_in_rate']:.1f} %" if s["n"] else "-"
        print(
            f"| {rule} | {s['n']} | {s['stopped_bot']} | {s['stopped_for_good']} ({rate}) "
            f"| {s['resumed']}, {_fmt(s['hold_ms'])} | {w['n']} "
            f"| {w['n'] - w['missed'] - w['resumed_wrongly']}, {w['missed']}, "
            f"{w['resumed_wrongly']} | {_fmt(w['reaction_ms'])} | {_fmt(w['onset_to_clear_ms'])} |"
        )
    print()
    print("| rule | kind | clips | stopped the bot | stopped for good |")
    print("|---|---|---|---|---|")
    for rule, r in results.items():
        for kind, k in r["non_word"]["by_kind"].items():
            print(f"| {rule} | {kind} | {k['n']} | {k['stopped_bot']} | {k['stopped_for_good']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=12, help="non-word clips of each kind")
    parser.add_argument("--speech", type=int, default=24, help="real interruptions")
    parser.add_argument(
        "--resume-after-ms",
        default=str(DEFAULT_RESUME_AFTER_MS),
        help="resume_after_ms of the rules with holding on, comma-separated (default: the "
        f"channel's, {DEFAULT_RESUME_AFTER_MS}); the rule with it off always runs first",
    )
    parser.add_argument("--concurrency", type=int, default=3, help="calls at once (default 3)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_forever(int(args.resume_after_ms))
        return
    clips = non_word_clips(args.per_kind) + real_interruptions(args.speech)
    leads = list(np.random.default_rng(5).uniform(1.0, 4.0, len(clips)))
    load_before = os.getloadavg()
    results: dict[str, dict[str, Any]] = {}
    trials: dict[str, list[dict[str, Any]]] = {}
    rules = [("resume off", 0)] + [
        ("resume on", int(ms)) for ms in args.resume_after_ms.split(",") if int(ms) > 0
    ]
    for rule, resume_after in rules:
        server, port = start_rule_server(resume_after)
        try:
            began = time.perf_counter()
            done = asyncio.run(run_rule(f"http://127.0.0.1:{port}", clips, leads, args.concurrency))
        finally:
            server.terminate()
            server.wait(10)
        name = f"{rule} ({resume_after} ms)" if resume_after else rule
        results[name] = summarise(done)
        results[name]["seconds"] = round(time.perf_counter() - began, 1)
        trials[name] = [asdict(t) for t in done]
        print(f"{name}: {len(done)} calls in {results[name]['seconds']} s", file=sys.stderr)
    load_after = os.getloadavg()
    machine = {"cpus": os.cpu_count(), "load_before": load_before, "load_after": load_after}
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}\n")
    print_table(results)
    if args.json:
        args.json.write_text(
            json.dumps({"machine": machine, "rules": results, "trials": trials}, indent=2)
        )


if __name__ == "__main__":
    main()
