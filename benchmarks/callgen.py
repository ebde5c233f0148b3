"""Load generator: N simulated Twilio calls from one process, driven by one `Ticker`.

Used by ``load.py`` and ``soak.py`` (one or more of these processes per run). Each call
answers, hears the greeting, then repeats a turn: 1 s of recorded speech, silence until the
bot answers and has finished playing (the scripted server's 4 s reply), again. A call lasts
``--call-seconds`` and is then replaced by a new one, until ``--seconds`` have passed.

Prints ``connected <n>`` once the first wave of calls is up, then one JSON line of results:
turn latencies (the caller's last voiced frame → the first bot speech it hears), lost turns
(no reply within 5 s), bot frames that played late (playout underruns), calls that failed or were
dropped by the server, and this generator's own cost (CPU, late ticks).

Run alone: ``python benchmarks/callgen.py --base http://127.0.0.1:PORT --calls 50 --seconds 30``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import struct
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from websockets.protocol import State

try:
    from websockets.speedups import apply_mask
except ImportError:  # websockets built without its C extension
    from websockets.utils import apply_mask

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.audio_samples (recorded test speech)

from tests.audio_samples import load_prompt  # noqa: E402

from telephonist.audio.formats import FRAME_MS  # noqa: E402
from telephonist.server.serve import run_on_loop  # noqa: E402
from telephonist.simulator.caller import CallFailed, TwilioCaller  # noqa: E402
from telephonist.simulator.phone import Phone, Ticker  # noqa: E402

REPLY_TIMEOUT_S = 5.0
HIGH_WATER_BYTES = 64 * 1024


class LeanCaller(TwilioCaller):
    """A caller whose frames skip the websocket library's per-send work.

    The generator shares the machine's cores with the server it measures, so what it spends
    per frame is taken from the server. While the connection is open, nothing is being sent
    in fragments and the socket's buffer is low, `write_now` frames a message here and writes
    it straight to the transport: the text `TwilioCaller` sends, framed as RFC 6455 asks of a
    client (a masked text frame; the mask comes from a fast non-cryptographic generator,
    which only matters to proxies between the two). Otherwise the library's path is taken,
    which handles closing and flow control.
    """

    def writable(self) -> bool:
        """Frames may be written straight to the socket now."""
        ws = self._ws
        return (
            ws is not None
            and ws.protocol.state is State.OPEN
            and ws.fragmented_send_waiter is None
            and ws.transport.get_write_buffer_size() < HIGH_WATER_BYTES
        )

    def write_now(self, text: str) -> None:
        """One text frame, written at once (only while `writable`)."""
        self._ws.transport.write(masked_text_frame(text.encode()))

    async def send_text(self, text: str | bytes) -> None:
        if isinstance(text, str) and self.writable():
            self.write_now(text)
        else:
            await super().send_text(text)


def masked_text_frame(data: bytes) -> bytes:
    """One final, masked websocket text frame carrying ``data`` (RFC 6455 §5.2)."""
    mask = random.randbytes(4)
    size = len(data)
    if size < 126:
        header = struct.pack("!BB", 0x81, 0x80 | size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, size)
    return header + mask + apply_mask(data, mask)


class LeanPhone(Phone):
    """A `Phone` whose tick writes its frame and mark echoes at once while its `LeanCaller`
    can: the same frames, marks and timing as `Phone.tick`, without a coroutine per write."""

    caller: LeanCaller

    async def tick(self) -> None:
        caller = self.caller
        if not caller.writable():
            await super().tick()
            return
        frame = self._next_frame()
        caller.write_now(caller._media_text(frame))
        heard, reached = caller.playout.take(FRAME_MS)
        for name in reached:
            caller.write_now(json.dumps(caller._mark_message(name)))
        self._played(frame, heard)


@dataclass
class Results:
    """What one generator process measured."""

    calls: int = 0
    calls_started: int = 0
    turns: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    lost_turns: int = 0
    late_frames: int = 0
    failed_calls: int = 0
    dropped_calls: int = 0
    generator_cpu_s: float = 0.0
    hold_s: float = 0.0
    late_ticks: int = 0
    ticks: int = 0
    max_lag_ms: float = 0.0
    errors: list[str] = field(default_factory=list)


def cpu_s() -> float:
    """This process's user + system CPU seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Generator:
    """The calls of one process."""

    def __init__(
        self, base: str, speech: bytes, seconds: float, call_seconds: float, phases: int = 1
    ) -> None:
        self.webhook = f"{base}/webhooks/twilio_media_streams/webhook"
        self.ws = base.replace("http", "ws", 1) + "/webhooks/twilio_media_streams/websocket"
        self.speech = speech
        self.seconds = seconds
        self.until = time.monotonic() + 1e9  # set once the first wave is connected
        self.call_seconds = call_seconds
        self.ticker = Ticker(phases=phases)
        self.results = Results()
        self.dials = asyncio.Semaphore(20)

    async def dial(self, http: httpx.AsyncClient) -> Phone | None:
        """One new call, connected and on the line (None if it failed)."""
        caller = LeanCaller(self.webhook, stream_url_override=self.ws, keep_audio=False)
        self.results.calls_started += 1
        try:
            async with self.dials:
                await caller.dial(http)
                phone = LeanPhone(caller, settle_s=0.5)
                await caller.connect()
        except (CallFailed, httpx.HTTPError, OSError) as exc:
            self.results.failed_calls += 1
            self.results.errors.append(repr(exc)[:200])
            return None
        self.ticker.add(phone)
        return phone

    async def talk(self, phone: Phone, measure: bool) -> None:
        """Turns until the call's time is up."""
        end = min(self.until, time.monotonic() + self.call_seconds)
        await phone.wait_quiet(REPLY_TIMEOUT_S)  # the greeting
        while not phone.closed and time.monotonic() < end:
            turn = await phone.say(self.speech, "speech")
            await phone.wait_quiet(REPLY_TIMEOUT_S, max_s=30)
            if phone.closed and not phone.hung_up:
                break
            if measure:
                self.results.turns += 1
                latency = turn.latency_from_speech_end_ms
                if latency is None:
                    self.results.lost_turns += 1
                else:
                    self.results.latencies_ms.append(latency)
        if phone.caller.closed_by_server and not phone.hung_up:
            self.results.dropped_calls += 1
        self.results.late_frames += phone.late_frames
        await phone.hang_up()

    async def line(
        self, http: httpx.AsyncClient, first: Phone | None, measuring: asyncio.Event
    ) -> None:
        """One concurrent call slot: its first call, then replacements until the end."""
        phone = first
        while time.monotonic() < self.until:
            if phone is None:
                await asyncio.sleep(0.5)
            else:
                await self.talk(phone, measuring.is_set())
            if time.monotonic() < self.until:
                phone = await self.dial(http)

    async def run(self, calls: int) -> Results:
        """Dial ``calls`` calls, report ``connected``, talk until the end."""
        self.results.calls = calls
        stop = asyncio.Event()
        ticking = asyncio.create_task(self.ticker.run(stop))
        limits = httpx.Limits(max_connections=20)
        async with httpx.AsyncClient(timeout=30, limits=limits) as http:
            first = await asyncio.gather(*(self.dial(http) for _ in range(calls)))
            print(f"connected {sum(p is not None for p in first)}", flush=True)
            self.until = time.monotonic() + self.seconds
            measuring = asyncio.Event()
            measuring.set()
            cpu0, wall0 = cpu_s(), time.monotonic()
            ticks0, late0 = self.ticker.ticks, self.ticker.late_ticks
            await asyncio.gather(*(self.line(http, p, measuring) for p in first))
            self.results.generator_cpu_s = round(cpu_s() - cpu0, 2)
            self.results.hold_s = round(time.monotonic() - wall0, 2)
            self.results.ticks = self.ticker.ticks - ticks0
            self.results.late_ticks = self.ticker.late_ticks - late0
            self.results.max_lag_ms = round(self.ticker.max_lag_ms, 1)
        stop.set()
        await ticking
        self.results.errors = self.results.errors[:5]
        return self.results


def speech_turn() -> bytes:
    """1 s of real recorded speech."""
    return load_prompt("agent-pass").mulaw[:8000]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="server base URL, http://host:port")
    parser.add_argument("--calls", type=int, default=10, help="concurrent calls")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to run")
    parser.add_argument(
        "--call-seconds",
        type=float,
        default=1e9,
        help="hang up and redial after this long (default: never)",
    )
    parser.add_argument(
        "--phases",
        type=int,
        default=1,
        help="spread the calls' frames over each 20 ms tick in this many steps (default 1: "
        "every call's frame in the same instant)",
    )
    args = parser.parse_args()
    generator = Generator(
        args.base, speech_turn(), args.seconds, args.call_seconds, max(1, args.phases)
    )
    results = run_on_loop(generator.run(args.calls), "auto")
    print(json.dumps(asdict(results)), flush=True)


if __name__ == "__main__":
    main()
