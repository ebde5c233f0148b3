"""Turn-taking as a caller hears it: how soon the bot answers, how often it cuts a caller off
mid-sentence, how often a non-word stops it for good — for several rules side by side.

Each rule is a YAML mapping merged into the channel block of ``credentials.yml``
(``--rule 'pause=vad: {min_silence_ms: 500}'``, repeatable; by default ``none={turn: {model:
none}}`` and ``smart-turn={turn: {model: smart-turn}}``). For each engine set and rule a real
``telephonist run`` server is started (a rule it refuses — an unknown key — is skipped, and
the reason printed), in front of a fake Rasa in this process (``--rasa-url``) that greets,
and answers every caller message at once with one short sentence. Engine sets:

* ``scripted``: a zero-latency, perfect ASR that cuts utterances at the server's own VAD
  edges and answers each with the words of the clip it heard (``turn_taking_engines.py``),
  and a zero-latency tone voice (``zero_speech.ToneTTS``): only turn-taking sets the timing;
* ``embedded``: the local Whisper ASR and the local voice, as ``telephonist run`` has them.

Simulated callers (``telephonist.simulator``, in real time) play the corpus
(``turn_taking_clips.py``: recorded Asterisk prompts, whole or with a 300-800 ms pause spliced
into a word gap, noise bursts and backchannel words) and report, per rule:

* latency: the caller's last voiced frame → the first bot speech it hears, p50/p95, over the
  whole sentences the bot did not cut off;
* false cut-offs: sentences (whole, and paused mid-way) whose answer the caller heard begin
  before its own last voiced frame — inside the pause, or over the words after it (the JSON
  rows say which, ``bot_cut_in_ms_into_clip`` against ``pause_ms``);
* false barge-ins: non-word clips played 1-2 s into a long greeting after which the bot did
  not take its greeting up again (it stopped for good);
* the server's CPU (% of one core, and per call) and the machine's load average.

``--calls N`` runs N callers at once (the CPU figures are then per call under that load).

Usage::

    python benchmarks/turn_taking.py --per-kind 6 --json turns.json
    python benchmarks/turn_taking.py --engines scripted --calls 4 \\
        --rule 'pause-500=vad: {min_silence_ms: 500}' --rule 'pause-200=vad: {min_silence_ms: 200}'
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from barge_in_server import GREETING  # noqa: E402
from turn_taking_clips import TurnClip, corpus  # noqa: E402
from turn_taking_engines import write_corpus  # noqa: E402
from turn_taking_server import FakeRasa, Server  # noqa: E402

from telephonist.simulator.caller import TwilioCaller  # noqa: E402
from telephonist.simulator.phone import Phone, Ticker  # noqa: E402
from telephonist.simulator.report import percentiles  # noqa: E402
from telephonist.simulator.voicing import first_voiced_frame  # noqa: E402

DEFAULT_RULES = {"none": "turn: {model: none}", "smart-turn": "turn: {model: smart-turn}"}
REPLY_TIMEOUT_S = 8.0
DECIDE_WITHIN_S = 4.0
"""After a non-word clip: how long the bot has to stop (``clear``) and then take its greeting
up again or say something else."""


@dataclass
class RuleResult:
    """One rule with one engine set."""

    engines: str
    rule: str
    config: dict[str, Any]
    skipped: str | None = None
    latency_from_speech_end_ms: dict[str, float] = field(default_factory=dict)
    cut_off: dict[str, list[int]] = field(default_factory=dict)
    """Per kind (complete, paused): [sentences the bot answered before the caller finished,
    sentences played]."""
    non_words: dict[str, int] = field(default_factory=dict)
    """Clips played over the greeting; of them: stopped the bot, stopped it for good."""
    server_cpu_percent: float = 0.0
    server_cpu_percent_per_call: float = 0.0
    calls: int = 1
    load_average: list[float] = field(default_factory=list)
    clips: list[dict[str, Any]] = field(default_factory=list)


def parse_rules(options: list[str] | None) -> dict[str, dict[str, Any]]:
    """``NAME=YAML`` options as {name: mapping}; the defaults without any."""
    rules: dict[str, dict[str, Any]] = {}
    for option in options or [f"{k}={v}" for k, v in DEFAULT_RULES.items()]:
        name, sep, text = option.partition("=")
        try:
            block = yaml.safe_load(text) if sep else None
        except yaml.YAMLError as exc:
            raise SystemExit(f"--rule {option!r}: not YAML: {exc}") from None
        if not name or not isinstance(block, dict):
            raise SystemExit(f"--rule {option!r}: expected NAME=YAML (a mapping)")
        rules[name] = block
    return rules


class Line:
    """The calls' common plumbing: the server's URLs, one ticker, one HTTP client."""

    def __init__(self, base: str, rasa: FakeRasa, http: httpx.AsyncClient, ticker: Ticker):
        self.webhook = f"{base}/webhooks/twilio_media_streams/webhook"
        self.stream = base.replace("http", "ws", 1) + "/webhooks/twilio_media_streams/websocket"
        self.rasa, self.http, self.ticker = rasa, http, ticker

    async def dial(self, long_greeting: bool) -> Phone:
        """A call on the line, its greeting long (to talk over) or short."""
        caller = TwilioCaller(self.webhook, stream_url_override=self.stream)
        if long_greeting:
            self.rasa.long_greetings.add(caller.call_sid)
        await caller.dial(self.http)
        phone = Phone(caller, settle_s=0.5)
        await caller.connect()
        self.ticker.add(phone)
        return phone


async def sentences(line: Line, clips: list[TurnClip]) -> list[dict[str, Any]]:
    """One call: each sentence after the bot finished its last answer."""
    phone = await line.dial(long_greeting=False)
    rows = []
    try:
        await phone.wait_quiet(REPLY_TIMEOUT_S)
        for clip in clips:
            if phone.closed:
                break
            turn = await phone.say(clip.mulaw, clip.name)
            await phone.wait_quiet(REPLY_TIMEOUT_S)
            cut_in = None
            if turn.bot_cut_in_at is not None and turn.started_at is not None:
                cut_in = round((turn.bot_cut_in_at - turn.started_at) * 1000)
            rows.append(
                {
                    "clip": clip.name,
                    "kind": clip.kind,
                    "pause_ms": clip.pause_ms,
                    "latency_from_speech_end_ms": turn.latency_from_speech_end_ms,
                    "bot_cut_in_ms_into_clip": cut_in,
                }
            )
    finally:
        await phone.hang_up()
    return rows


async def over_greeting(line: Line, clip: TurnClip, into_s: float) -> dict[str, Any]:
    """One call: ``clip`` played ``into_s`` into the long greeting; did the bot stop, and
    did it take the greeting up again?"""
    phone = await line.dial(long_greeting=True)
    caller = phone.caller
    cleared_at: list[int] = []  # bytes received when each clear came
    caller.listeners.append(
        lambda m: (
            cleared_at.append(len(caller.received_audio)) if m.get("event") == "clear" else None
        )
    )

    def after_clear() -> bytes | None:
        """The bot's first speech after the first clear (480 bytes of it), once there."""
        if not cleared_at:
            return None
        new = bytes(caller.received_audio[cleared_at[0] :])
        first = first_voiced_frame(new)
        return None if first is None or len(new) < first * 160 + 480 else new[first * 160 :][:480]

    try:
        if not await phone.wait_bot_heard(into_s, timeout_s=30):
            return {"clip": clip.name, "kind": clip.kind, "outcome": "no greeting heard"}
        await phone.say(clip.mulaw, clip.name)
        await phone.until(lambda: after_clear() is not None, DECIDE_WITHIN_S)
        spoken = after_clear()
        if not cleared_at:
            outcome = "not stopped"
        elif spoken is not None and spoken in caller.received_audio[: cleared_at[0]]:
            outcome = "resumed"
        else:
            outcome = "stopped for good"
    finally:
        await phone.hang_up()
    return {"clip": clip.name, "kind": clip.kind, "outcome": outcome}


async def run_rule(
    server: Server, rasa: FakeRasa, clips: list[TurnClip], calls: int, result: RuleResult
) -> None:
    """Every clip against one server: sentences on ``calls`` lines at once, then non-words
    over the greeting, ``calls`` at a time."""
    ticker, stop = Ticker(), asyncio.Event()
    ticking = asyncio.create_task(ticker.run(stop))
    spoken = [c for c in clips if c.words]
    others = [c for c in clips if not c.words]
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            line = Line(server.base, rasa, http, ticker)
            cpu0, wall0 = server.cpu_seconds(), asyncio.get_running_loop().time()
            shares = [spoken[i::calls] for i in range(calls)]
            for rows in await asyncio.gather(*(sentences(line, s) for s in shares if s)):
                result.clips += rows
            gate = asyncio.Semaphore(calls)

            async def one(i: int, clip: TurnClip) -> dict[str, Any]:
                async with gate:
                    return await over_greeting(line, clip, 1.0 + (i % 5) / 5)

            result.clips += await asyncio.gather(*(one(i, c) for i, c in enumerate(others)))
            wall = asyncio.get_running_loop().time() - wall0
            cpu = 100 * (server.cpu_seconds() - cpu0) / wall
    finally:
        stop.set()
        await ticking
    result.server_cpu_percent = round(cpu, 1)
    result.server_cpu_percent_per_call = round(cpu / calls, 1)
    summarise(result)


def summarise(result: RuleResult) -> None:
    """The figures from the per-clip rows."""
    said = [r for r in result.clips if r["kind"] in ("complete", "paused")]
    latencies = [
        r["latency_from_speech_end_ms"]
        for r in said
        if r["kind"] == "complete" and r["latency_from_speech_end_ms"] is not None
    ]
    result.latency_from_speech_end_ms = percentiles(latencies)
    for kind in ("complete", "paused"):
        rows = [r for r in said if r["kind"] == kind]
        result.cut_off[kind] = [
            sum(r["bot_cut_in_ms_into_clip"] is not None for r in rows),
            len(rows),
        ]
    over = [r for r in result.clips if r["kind"] not in ("complete", "paused")]
    result.non_words = {
        "played": sum(r["outcome"] != "no greeting heard" for r in over),
        "stopped": sum(r["outcome"] in ("resumed", "stopped for good") for r in over),
        "stopped_for_good": sum(r["outcome"] == "stopped for good" for r in over),
    }


def engine_blocks(corpus_file: Path) -> dict[str, dict[str, Any]]:
    """The channel keys of each engine set."""
    return {
        "scripted": {
            "asr": {"name": "turn_taking_engines.OracleASR", "corpus": str(corpus_file)},
            "tts": {"name": "zero_speech.ToneTTS"},
        },
        "embedded": {"asr": {"name": "local"}, "tts": {"name": "local"}},
    }


def row(result: RuleResult) -> str:
    """One line of the printed table."""
    head = f"{result.engines:9} {result.rule:14}"
    if result.skipped:
        return f"{head} skipped: {result.skipped}"
    lat = result.latency_from_speech_end_ms
    whole, paused = result.cut_off["complete"], result.cut_off["paused"]
    nw = result.non_words
    return (
        f"{head} {lat.get('p50', '-'):>7} {lat.get('p95', '-'):>7} {lat.get('n', 0):>3}"
        f" {whole[0]:>3}/{whole[1]:<3} {paused[0]:>3}/{paused[1]:<3}"
        f" {nw['stopped']:>3}/{nw['played']:<3} {nw['stopped_for_good']:>3}/{nw['played']:<3}"
        f" {result.server_cpu_percent:6.1f} {result.server_cpu_percent_per_call:6.1f}"
    )


HEADER = (
    "engines   rule              p50     p95   n  cut off:     non-words:        server CPU %\n"
    "                        (last voiced → bot ms)   whole  paused  stopped for good  all /call"
)


async def measure(
    args: argparse.Namespace, clips: list[TurnClip], folder: Path
) -> list[RuleResult]:
    """Every engine set with every rule."""
    rules = parse_rules(args.rule)
    corpus_file = folder / "corpus.json"
    write_corpus(corpus_file, [(c.text, c.mulaw) for c in clips if c.text])
    blocks = engine_blocks(corpus_file)
    results = []
    async with FakeRasa(GREETING) as rasa:
        for engines in args.engines.split(","):
            for name, rule in rules.items():
                result = RuleResult(engines, name, rule, calls=args.calls)
                server = Server(folder / f"{engines}-{name}", blocks[engines], rule, rasa.url)
                result.skipped = await server.start()
                try:
                    if result.skipped is None:
                        load0 = os.getloadavg()[0]
                        await run_rule(server, rasa, clips, args.calls, result)
                        result.load_average = [round(load0, 2), round(os.getloadavg()[0], 2)]
                finally:
                    server.stop()
                results.append(result)
                print(row(result), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rule",
        action="append",
        metavar="NAME=YAML",
        help="a rule: YAML merged into the channel block (repeatable); default: "
        + ", ".join(f"{k}={{{v}}}" for k, v in DEFAULT_RULES.items()),
    )
    parser.add_argument(
        "--engines", default="scripted,embedded", help="scripted, embedded or both (default)"
    )
    parser.add_argument(
        "--per-kind",
        type=int,
        default=6,
        help="whole sentences, paused sentences, noise bursts"
        " and backchannel words each (default 6)",
    )
    parser.add_argument("--calls", type=int, default=1, help="callers at once (default 1)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep each server's project and log (server.log: its turn.latency lines split "
        "each answer) in DIR instead of a temporary folder",
    )
    args = parser.parse_args()
    if not set(args.engines.split(",")) <= {"scripted", "embedded"}:
        parser.error("--engines: scripted, embedded or scripted,embedded")
    parse_rules(args.rule)  # a bad option stops here, before any work
    clips = corpus(args.per_kind)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    print(HEADER, flush=True)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        results = asyncio.run(measure(args, clips, args.keep))
    else:
        with tempfile.TemporaryDirectory(prefix="turn-taking-") as folder:
            results = asyncio.run(measure(args, clips, Path(folder)))
    if args.json:
        machine = {"cores": os.cpu_count(), "load_average_end": os.getloadavg()[0]}
        document = {"machine": machine, "results": [asdict(r) for r in results]}
        args.json.write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
