"""What recording costs per call, measured in CPU time (so a busy machine barely moves it).

Drives N call taps in one process exactly as the media socket does — a caller frame every
20 ms of line time, the bot's replies sent faster than real time in half-second messages
with marks, the echoes as Twilio would send them, the call's events — for ``--seconds`` of
line time, as fast as the machine allows, and reports:

* the event loop's share: CPU µs per caller frame, and the share of one core N real-time
  calls would take;
* the writer thread's share (decoding, WAV and transcript writes), the same way;
* bytes written per call-minute.

Usage: ``python benchmarks/recording.py --calls 200 --seconds 60 [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telephonist.call.events import (  # noqa: E402
    BotMessageStarted,
    CallEvent,
    TurnLatency,
    TurnTaken,
)
from telephonist.config.recording import parse_recording  # noqa: E402
from telephonist.recording.tap import CallTap  # noqa: E402
from telephonist.recording.writer import SegmentWriter  # noqa: E402
from telephonist.twilio import messages  # noqa: E402

FRAME = 160
FRAMES_PER_S = 50
TURN_EVERY_S = 10
REPLY_S = 4
CHUNK = 4000  # the speaker's half-second messages
SPEECH = bytes(range(1, 161))


@dataclass
class Result:
    """Recording's cost at one number of calls."""

    calls: int
    seconds: int
    loop_us_per_frame: float
    loop_core_percent: float
    writer_core_percent: float
    mb_per_call_minute: float


def turn_events(call: str, turn: int) -> list[CallEvent]:
    """What a call publishes around one caller turn and its reply."""
    said = TurnTaken(
        call_id=call,
        event="UserText",
        text=f"turn {turn}",
        source="speech",
        confidence=0.9,
        sensitive=False,
        assistant_ms=1.0,
        messages=("a reply",),
        hang_up=False,
        state={},
    )
    reply = BotMessageStarted(
        call_id=call, message_id=turn, text="a reply", allow_interruptions=True
    )
    latency = TurnLatency(
        call_id=call,
        speech_end_to_audio_ms=300.0,
        final_to_audio_ms=0.0,
        assistant_ms=1.0,
        tts_first_byte_ms=0.0,
    )
    return [said, reply, latency]


def run(calls: int, seconds: int) -> Result:
    """Record ``calls`` calls for ``seconds`` of line time each."""
    folder = Path(tempfile.mkdtemp(prefix="telephonist-recording-bench-"))
    settings = parse_recording({"folder": str(folder), "max_size_mb": 0}, file=str(folder / "c"))
    writer = SegmentWriter(settings)
    taps = [CallTap(f"CA{i:032x}", settings, writer, time.time) for i in range(calls)]
    reply = [messages.media_message("MZ0", b"\x55" * CHUNK) for _ in range(REPLY_S * 2)]
    loop_start, process_start = time.thread_time(), time.process_time()
    for second in range(seconds):
        turn_starts = second % TURN_EVERY_S == 0
        for tick in range(FRAMES_PER_S):
            for n, tap in enumerate(taps):
                tap.caller(SPEECH)
                if turn_starts and tick == 0:
                    for event in turn_events(tap.call_sid, second):
                        tap.event(event)
                    for i, media in enumerate(reply):
                        tap.sent(media)
                        tap.sent(messages.mark_message("MZ0", f"m{second}.{i}.{n}"))
                elif second % TURN_EVERY_S < REPLY_S and tick in (0, 25):
                    turn = second - second % TURN_EVERY_S
                    tap.echoed(f"m{turn}.{(second % TURN_EVERY_S) * 2 + tick // 25}.{n}")
        writer.barrier().wait()  # line time runs faster than real time: let the writer keep up
    for tap in taps:
        tap.close("caller hung up")
    loop_cpu = time.thread_time() - loop_start
    writer.close()  # writes everything queued
    # Only the loop and the writer thread ran: the writer's CPU is the rest of the process's.
    writer_cpu = time.process_time() - process_start - loop_cpu
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    shutil.rmtree(folder)
    return Result(
        calls,
        seconds,
        round(loop_cpu / (calls * seconds * FRAMES_PER_S) * 1e6, 2),
        round(100 * loop_cpu / seconds, 2),
        round(100 * writer_cpu / seconds, 2),
        round(size / calls / (seconds / 60) / 1e6, 2),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60, help="line time per call")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    result = run(args.calls, args.seconds)
    print(
        f"{result.calls} calls x {result.seconds} s: loop {result.loop_us_per_frame} µs per "
        f"caller frame = {result.loop_core_percent}% of a core in real time | writer thread "
        f"{result.writer_core_percent}% of a core | {result.mb_per_call_minute} MB per "
        "call-minute",
        flush=True,
    )
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2))


if __name__ == "__main__":
    main()
