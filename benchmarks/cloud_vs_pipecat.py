"""The cloud path, Telephonist against Pipecat, in one harness: how long a caller waits from its
last voiced frame to the first non-silent bot audio it hears, with Deepgram ASR and Cartesia
TTS (local fakes speaking their wire protocols) on both sides.

Each side gets its own fresh fakes in this process: a Deepgram in script mode (any non-silent
audio is speech, the clip's transcript its words; it endpoints after the ``endpointing`` the
client asks for — Telephonist 400 ms, Pipecat none, so Deepgram's own 10 ms — and flushes on
``Finalize``) and a Cartesia that answers every request at once with synthetic audio of the
text (60 ms a character, about the pace of speech), in the encoding asked for (Telephonist:
mu-law 8 kHz; Pipecat: 16-bit PCM at its pipeline's output rate, and it sends Deepgram 16-bit
PCM at its input rate). Both assistants answer every turn at once with the same sentence, so
the sides differ only in what the frameworks do between the wires.

* Telephonist: ``telephonist run`` (``turn_taking_server.Server``) with ``asr: {name:
  deepgram}`` and ``tts: {name: cartesia}`` pointed at the fakes and its default turn rule
  (Smart Turn v3.2, 200 ms pause), in front of a fake Rasa that greets and answers at once.
  ``--rule NAME=YAML`` (repeatable) adds channel-block variants, e.g. ``'none=turn: {model:
  none}'``.
* Pipecat 1.14.0: ``benchmarks/pipecat_bot.py`` (its docstring says what is set: what points
  it at the fakes, a VAD, the stand-in LLM, no auto hang-up and the sample rates; its
  end-of-turn rule is its default, Smart Turn v3 through ``UserTurnStrategies``), run by a venv
  of its own built on first use under ``~/.cache/telephonist-bench/pipecat-1.14.0``
  (``--pipecat-venv``; about 90 s, from the package registry). It runs twice by default
  (``--pipecat-rates twilio,default``): with the 8 kHz pipeline Pipecat's own Twilio starter
  sets (nothing resampled: the faster of the two), and with ``PipelineParams()``'s 16 kHz in,
  24 kHz out (its Twilio serializer then resamples both ways, in blocks of about 0.1 s).

Besides each side's p50/p95 (over the turns it answered without cutting in), the ratios are
also given over the turns both sides answered without cutting in (the same clips), so a side
that cuts into its hard sentences does not keep only its easy ones.

The caller is the project's simulated Twilio caller (``telephonist.simulator``: webhook, then
the media stream, real time, 20 ms frames, bot audio played out as Twilio does), playing
recorded Asterisk prompts whole (``turn_taking_clips.complete_clips``), the same clips in the
same order on both sides: ``--calls`` calls one after another, ``--turns`` sentences each, each
after the bot has finished its last answer. A turn is *lost* when no bot audio comes within
8 s, *cut in* when the bot spoke before the caller's last voiced frame.

Usage::

    python benchmarks/cloud_vs_pipecat.py --turns 12 --calls 2 --json cloud.json
    python benchmarks/cloud_vs_pipecat.py --turns 8 --pipecat-rates twilio \\
        --rule 'none=turn: {model: none}'
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # tests.fakes, tests.audio_samples
sys.path.insert(0, str(HERE))

from load import cpu_seconds  # noqa: E402
from tests.fakes.cartesia_server import FakeCartesia  # noqa: E402
from tests.fakes.deepgram_server import FakeDeepgram  # noqa: E402
from turn_taking import parse_rules  # noqa: E402
from turn_taking_clips import TurnClip, complete_clips  # noqa: E402
from turn_taking_server import FakeRasa, Server, free_port, stop_process  # noqa: E402

from telephonist.simulator.caller import CallFailed, TwilioCaller  # noqa: E402
from telephonist.simulator.phone import Phone, Ticker  # noqa: E402
from telephonist.simulator.report import percentiles  # noqa: E402

PIPECAT_VERSION = "1.14.0"
PIPECAT_REQUIREMENTS = [
    f"pipecat-ai[deepgram,cartesia,silero,websocket]=={PIPECAT_VERSION}",
    "fastapi",
    "uvicorn",
]
DEFAULT_VENV = Path.home() / ".cache" / "telephonist-bench" / f"pipecat-{PIPECAT_VERSION}"
KEYS = {"DEEPGRAM_API_KEY": "bench-deepgram-key", "CARTESIA_API_KEY": "bench-cartesia-key"}
SPEECH_BYTES_PER_CHAR = 480
"""The fake voice's pace: 60 ms of audio a character, so answers last as long as spoken ones."""
REPLY_TIMEOUT_S = 8.0
GREETING_TIMEOUT_S = 30.0
"""The first call on a side may wait for models to load before its greeting."""


@dataclass
class SideResult:
    """One server under test: every turn it was played, and the figures."""

    side: str
    config: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None
    latency_from_speech_end_ms: dict[str, float] = field(default_factory=dict)
    turns: int = 0
    answered: int = 0
    lost: int = 0
    cut_in: int = 0
    server_cpu_percent: float = 0.0
    load_average: list[float] = field(default_factory=list)
    wire: dict[str, Any] = field(default_factory=dict)
    """What the fakes saw: audio formats, and how the words were delivered."""
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Line:
    """Where a server takes calls: its voice webhook and media stream URLs."""

    webhook: str
    stream: str


def rules_for(options: list[str] | None) -> dict[str, dict[str, Any]]:
    """Telephonist's defaults, then each ``--rule NAME=YAML`` (parsed as turn_taking.py
    parses them)."""
    return {"default": {}, **(parse_rules(options) if options else {})}


def playlist(turns: int, calls: int) -> list[list[TurnClip]]:
    """The clips of each call: recorded prompts whole, cycling, the same for both sides."""
    clips = complete_clips(turns * calls)
    return [clips[i * turns : (i + 1) * turns] for i in range(calls)]


async def one_call(
    line: Line, http: httpx.AsyncClient, ticker: Ticker, clips: list[TurnClip]
) -> list[dict[str, Any]]:
    """Dial, hear the greeting, then say each clip once the bot is quiet."""
    caller = TwilioCaller(line.webhook, stream_url_override=line.stream)
    rows: list[dict[str, Any]] = []
    try:
        await caller.dial(http)
        await caller.connect()
    except CallFailed as exc:
        return [{"clip": c.name, "error": str(exc)} for c in clips]
    phone = Phone(caller, settle_s=0.5)
    ticker.add(phone)
    try:
        await phone.wait_quiet(GREETING_TIMEOUT_S)
        for clip in clips:
            if phone.closed:
                rows.append({"clip": clip.name, "error": "call ended"})
                continue
            turn = await phone.say(clip.mulaw, clip.name)
            await phone.wait_quiet(REPLY_TIMEOUT_S)
            rows.append(
                {
                    "clip": clip.name,
                    "latency_from_speech_end_ms": turn.latency_from_speech_end_ms,
                    "answered": turn.first_audio_at is not None or turn.bot_cut_in_at is not None,
                    "cut_in": turn.bot_cut_in_at is not None,
                }
            )
    finally:
        await phone.hang_up()
    return rows


async def drive(line: Line, calls: list[list[TurnClip]], cpu: Callable[[], float]) -> SideResult:
    """Every call, one after another; the figures (without the side's name)."""
    result = SideResult("")
    ticker, stop = Ticker(), asyncio.Event()
    ticking = asyncio.create_task(ticker.run(stop))
    load0 = os.getloadavg()[0]
    cpu0, wall0 = cpu(), time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            for clips in calls:
                result.rows += await one_call(line, http, ticker, clips)
    finally:
        stop.set()
        await ticking
    result.server_cpu_percent = round(100 * (cpu() - cpu0) / (time.perf_counter() - wall0), 1)
    result.load_average = [round(load0, 2), round(os.getloadavg()[0], 2)]
    latencies = [
        r["latency_from_speech_end_ms"]
        for r in result.rows
        if r.get("latency_from_speech_end_ms") is not None
    ]
    result.latency_from_speech_end_ms = percentiles(latencies)
    result.turns = len(result.rows)
    result.answered = sum(bool(r.get("answered")) for r in result.rows)
    result.lost = result.turns - result.answered
    result.cut_in = sum(bool(r.get("cut_in")) for r in result.rows)
    return result


def fake_deepgram(calls: list[list[TurnClip]]) -> FakeDeepgram:
    """A fresh fake Deepgram that hears the calls' clips, utterance by utterance (the script
    twice over, so a stray segment cannot run it dry).

    Results are final only where a segment ends (endpointing, ``Finalize``), as Deepgram
    finalises: with the fake's default of a final every 3 words, Pipecat got a final 150 ms
    into a sentence, before its VAD had heard the speech start, took it for a turn the VAD
    missed and answered mid-sentence."""
    texts = [clip.text for clips in calls for clip in clips]
    return FakeDeepgram(KEYS["DEEPGRAM_API_KEY"], script=texts + texts, final_every=10_000)


async def telephonist_side(
    name: str, rule: dict[str, Any], calls: list[list[TurnClip]], folder: Path
) -> SideResult:
    """``telephonist run`` with Deepgram and Cartesia pointed at fresh fakes."""
    async with (
        fake_deepgram(calls) as deepgram,
        FakeCartesia(KEYS["CARTESIA_API_KEY"], bytes_per_char=SPEECH_BYTES_PER_CHAR) as cartesia,
        FakeRasa("") as rasa,
    ):
        engines = {
            "asr": {"name": "deepgram", "endpoint": deepgram.url},
            "tts": {"name": "cartesia", "endpoint": cartesia.url},
        }
        server = Server(folder / f"telephonist-{name}", engines, rule, rasa.url)
        skipped = await server.start()
        if skipped is not None:
            return SideResult(f"telephonist {name}", rule, skipped=skipped)
        try:
            hooks = "/webhooks/twilio_media_streams"
            ws = server.base.replace("http", "ws", 1)
            line = Line(f"{server.base}{hooks}/webhook", f"{ws}{hooks}/websocket")
            result = await drive(line, calls, server.cpu_seconds)
        finally:
            server.stop()
        result.wire = wire_facts(deepgram, cartesia)
    result.side, result.config = f"telephonist {name}", rule
    return result


def ensure_pipecat(venv: Path) -> Path:
    """The venv's python, building the venv first when it lacks Pipecat (once; ~90 s)."""
    python = venv / "bin" / "python"
    marker = venv / "telephonist-bench-requirements.txt"
    wanted = "\n".join(PIPECAT_REQUIREMENTS)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    base = shutil.which("python3.11") or shutil.which("python3") or sys.executable
    print(f"building the Pipecat venv in {venv} (once) ...", flush=True)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *PIPECAT_REQUIREMENTS], check=True
    )
    marker.write_text(wanted)
    return python


class PipecatBot:
    """``pipecat_bot.py`` in the Pipecat venv, in its own process."""

    def __init__(
        self,
        python: Path,
        log: Path,
        urls: tuple[str, str],
        rates: str,
        log_level: str,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.command = [
            str(python),
            str(HERE / "pipecat_bot.py"),
            "--port",
            str(self.port),
            "--deepgram-url",
            urls[0],
            "--cartesia-url",
            urls[1],
            "--rates",
            rates,
            "--log-level",
            log_level,
        ]
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self, within: float = 120.0) -> str | None:
        """Start it; None once it answers ``/health``, else why it did not."""
        self.process = self.launch()
        async with httpx.AsyncClient(timeout=1) as http:
            for _ in range(int(within * 10)):
                if self.process.poll() is not None:
                    lines = self.log.read_text(errors="replace").strip().splitlines()
                    return f"the bot exited: {lines[-1] if lines else 'no output'}"
                try:
                    if (await http.get(f"{self.base}/health")).status_code == 200:
                        return None
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)  # polling a health check, as a load balancer does
        self.stop()
        return f"no answer on /health within {within:.0f} s"

    def launch(self) -> subprocess.Popen[bytes]:
        """The bot's process, its output to the log file."""
        with self.log.open("wb") as out:
            return subprocess.Popen(
                self.command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **KEYS}
            )

    def cpu_seconds(self) -> float:
        """The bot process's user + system CPU time."""
        assert self.process is not None
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        stop_process(self.process, 10)


async def pipecat_side(
    python: Path, rates: str, calls: list[list[TurnClip]], folder: Path, log_level: str
) -> SideResult:
    """The Pipecat bot with Deepgram and Cartesia pointed at fresh fakes."""
    name = f"pipecat {PIPECAT_VERSION} {rates}"
    async with (
        fake_deepgram(calls) as deepgram,
        FakeCartesia(KEYS["CARTESIA_API_KEY"], bytes_per_char=SPEECH_BYTES_PER_CHAR) as cartesia,
    ):
        urls = (deepgram.url, cartesia.url)
        bot = PipecatBot(python, folder / f"pipecat-{rates}.log", urls, rates, log_level)
        skipped = await bot.start()
        if skipped is not None:
            return SideResult(name, skipped=skipped)
        try:
            line = Line(f"{bot.base}/webhook", f"ws://127.0.0.1:{bot.port}/ws")
            result = await drive(line, calls, bot.cpu_seconds)
        finally:
            bot.stop()
        result.wire = wire_facts(deepgram, cartesia)
    result.side, result.config = name, {"rates": rates}
    return result


def wire_facts(deepgram: FakeDeepgram, cartesia: FakeCartesia) -> dict[str, Any]:
    """Audio formats on each wire, Deepgram's query, and which results carried the words:
    ``from_finalize`` (the client ended the turn) or ``speech_final`` (Deepgram's endpointing
    did)."""
    queries = [record.query for record in deepgram.records]
    results = [r for record in deepgram.records for r in record.results]
    worded = [r for r in results if r["is_final"] and r["channel"]["alternatives"][0]["transcript"]]
    return {
        "deepgram_audio": sorted({f"{q.get('encoding')}@{q.get('sample_rate')}" for q in queries}),
        "deepgram_endpointing": sorted({q.get("endpointing", "(default)") for q in queries}),
        "cartesia_audio": sorted(
            {
                f"{r['output_format']['encoding']}@{r['output_format']['sample_rate']}"
                for r in cartesia.requests
            }
        ),
        "finals_with_words": {
            "from_finalize": sum(bool(r.get("from_finalize")) for r in worded),
            "speech_final": sum(bool(r["speech_final"]) for r in worded),
        },
    }


def row(result: SideResult) -> str:
    """One line of the printed table."""
    head = f"{result.side:28}"
    if result.skipped:
        return f"{head} skipped: {result.skipped}"
    lat = result.latency_from_speech_end_ms
    return (
        f"{head} {lat.get('p50', '-'):>7} {lat.get('p95', '-'):>7} {lat.get('n', 0):>4}"
        f"   {result.answered:>3}/{result.turns:<3} {result.lost:>4} {result.cut_in:>6}"
        f"   {result.server_cpu_percent:6.1f}"
    )


def wire_line(result: SideResult) -> str:
    """What the fakes saw, under the side's row."""
    wire = result.wire
    if not wire:
        return ""
    words = wire["finals_with_words"]
    return (
        f"    deepgram {','.join(wire['deepgram_audio'])}"
        f" endpointing={','.join(wire['deepgram_endpointing'])},"
        f" cartesia {','.join(wire['cartesia_audio'])};"
        f" words came by Finalize {words['from_finalize']}, by endpointing {words['speech_final']}"
    )


HEADER = (
    "side                             p50     p95    n   answered lost cut in   server CPU %\n"
    "                            (last voiced frame → first bot audio, ms)"
)


def ratios(results: list[SideResult]) -> dict[str, dict[str, Any]]:
    """Each Telephonist rule's p50 and p95 over each Pipecat variant's: over all the turns
    each answered without cutting in, and over the turns both did (``paired_*``: the same
    clips on both sides, so neither keeps only its easy ones)."""
    measured = [r for r in results if r.latency_from_speech_end_ms]
    out: dict[str, dict[str, Any]] = {}
    for ours in measured:
        for theirs in measured:
            if not (ours.side.startswith("telephonist") and theirs.side.startswith("pipecat")):
                continue
            a, b = ours.latency_from_speech_end_ms, theirs.latency_from_speech_end_ms
            figures: dict[str, Any] = {q: round(a[q] / b[q], 2) for q in ("p50", "p95")}
            pairs = [
                (x["latency_from_speech_end_ms"], y["latency_from_speech_end_ms"])
                for x, y in zip(ours.rows, theirs.rows, strict=True)
                if x.get("latency_from_speech_end_ms") is not None
                and y.get("latency_from_speech_end_ms") is not None
            ]
            if pairs:
                pa = percentiles([x for x, _ in pairs])
                pb = percentiles([y for _, y in pairs])
                figures["paired_n"] = len(pairs)
                for q in ("p50", "p95"):
                    figures[f"paired_{q}_ms"] = [pa[q], pb[q]]
                    figures[f"paired_{q}"] = round(pa[q] / pb[q], 2)
            out[f"{ours.side} / {theirs.side}"] = figures
    return out


async def measure(args: argparse.Namespace, python: Path | None, folder: Path) -> list[SideResult]:
    """Telephonist under each rule, then Pipecat, each with the same calls."""
    calls = playlist(args.turns, args.calls)
    results = []
    for name, rule in rules_for(args.rule).items():
        results.append(await telephonist_side(name, rule, calls, folder))
        print(row(results[-1]), wire_line(results[-1]), sep="\n", flush=True)
    for rates in args.pipecat_rates.split(",") if python else []:
        assert python is not None
        results.append(await pipecat_side(python, rates, calls, folder, args.pipecat_log_level))
        print(row(results[-1]), wire_line(results[-1]), sep="\n", flush=True)
    return results


def keep_logs(folder: Path, into: Path) -> None:
    """Copy every server's log out of the run's temporary folder."""
    into.mkdir(parents=True, exist_ok=True)
    for log in folder.rglob("*.log"):
        shutil.copy(log, into / f"{log.parent.name}-{log.name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=8, help="sentences per call (default 8)")
    parser.add_argument(
        "--calls", type=int, default=1, help="calls per side, one after another (default 1)"
    )
    parser.add_argument(
        "--rule",
        action="append",
        metavar="NAME=YAML",
        help="another Telephonist rule: YAML merged into the channel block (repeatable)",
    )
    parser.add_argument(
        "--pipecat-venv",
        type=Path,
        default=DEFAULT_VENV,
        help=f"the Pipecat venv, built here when missing (default {DEFAULT_VENV})",
    )
    parser.add_argument("--no-pipecat", action="store_true", help="Telephonist only")
    parser.add_argument(
        "--pipecat-rates",
        default="twilio,default",
        help="Pipecat pipeline rates to run, comma-separated: twilio (8 kHz, as Pipecat's Twilio"
        " starter), default (PipelineParams(): 16 kHz in, 24 kHz out); default: both",
    )
    parser.add_argument("--keep-logs", type=Path, help="copy the servers' logs into this folder")
    parser.add_argument(
        "--pipecat-log-level", default="WARNING", help="the bot's loguru level (default WARNING)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    rules_for(args.rule)  # a bad option stops here, before any work
    if not set(args.pipecat_rates.split(",")) <= {"twilio", "default"}:
        parser.error("--pipecat-rates: twilio, default or twilio,default")
    os.environ.update(KEYS)  # the Telephonist server reads its provider keys from here
    python = None if args.no_pipecat else ensure_pipecat(args.pipecat_venv)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="cloud-vs-pipecat-") as tmp:
        results = asyncio.run(measure(args, python, Path(tmp)))
        if args.keep_logs:
            keep_logs(Path(tmp), args.keep_logs)
    for pair, ratio in ratios(results).items():
        line = f"{pair}: p50 {ratio['p50']:.2f}x, p95 {ratio['p95']:.2f}x"
        if "paired_n" in ratio:
            line += (
                f"; on the {ratio['paired_n']} turns both answered without cutting in:"
                f" p50 {ratio['paired_p50']:.2f}x, p95 {ratio['paired_p95']:.2f}x"
            )
        print(line, flush=True)
    if args.json:
        machine = {"cores": os.cpu_count(), "load_average_end": os.getloadavg()[0]}
        document = {
            "machine": machine,
            "pipecat": PIPECAT_VERSION,
            "ratios": ratios(results),
            "results": [asdict(r) for r in results],
        }
        args.json.write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
