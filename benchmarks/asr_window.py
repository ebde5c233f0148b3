"""The local ASR's encoder window: word error rate and time per pass, for each ``window_s``.

    python benchmarks/asr_window.py                      # 240 prompts, windows 30,15,10
    python benchmarks/asr_window.py --prompts 80 --windows 30,10,7 --json window.json

Each recorded Asterisk prompt of 1-8 s (8 kHz mu-law, with its published transcript) is read
by ``LocalASR.transcribe`` (Whisper tiny.en, beam 1, one worker's 2 threads) once per window,
one at a time on an otherwise idle process. Reported per window: WER over all words, the
median / p90 / max time of a pass, and how many passes the short window did not trust and
read again in the full 30 s window (a loop, or more tokens than the audio can hold).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.audio_samples

from tests.audio_samples import plain_prompts, word_error_rate


def prompts(count: int, shortest_s: float, longest_s: float) -> list[tuple[str, bytes, str]]:
    """``count`` prompts spread over the set (plain-word transcripts only), as mu-law."""
    found = plain_prompts(shortest_s, longest_s)
    step = max(1, len(found) // count)
    return [(p.name, p.mulaw, p.text) for p in found[::step][:count]]


def measure(window_s: int, items: list[tuple[str, bytes, str]]) -> dict[str, Any]:
    """One window over every prompt."""
    from telephonist.speech.asr.local import LocalASR
    from telephonist.speech.asr.whisper_window import ShortWindow

    asr = LocalASR(window_s=window_s, workers=1)
    asr.load()
    asr.transcribe(items[0][1], "en")  # the worker's first pass is slow
    untrusted = 0
    original = ShortWindow.transcribe

    def counting(self: ShortWindow, *args: Any) -> Any:
        nonlocal untrusted
        parts = original(self, *args)
        untrusted += parts is None
        return parts

    ShortWindow.transcribe = counting  # type: ignore[method-assign,assignment]
    errors = words = 0.0
    times: list[float] = []
    worst: list[tuple[float, str, str]] = []
    try:
        for name, audio, text in items:
            start = time.perf_counter()
            final = asr.transcribe(audio, "en")
            times.append(time.perf_counter() - start)
            hypothesis = final.text if final else ""
            wer = word_error_rate(text, hypothesis)
            errors += wer * len(text.split())
            words += len(text.split())
            worst.append((wer, name, hypothesis))
    finally:
        ShortWindow.transcribe = original  # type: ignore[method-assign]
    times.sort()
    return {
        "window_s": window_s,
        "prompts": len(items),
        "wer": round(errors / words, 4),
        "median_ms": round(statistics.median(times) * 1000, 1),
        "p90_ms": round(times[int(0.9 * (len(times) - 1))] * 1000, 1),
        "max_ms": round(times[-1] * 1000, 1),
        "read_again_in_30s": untrusted,
        "worst": [f"{n}: {h!r}" for _, n, h in sorted(worst, reverse=True)[:3]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=240, help="recorded prompts (default 240)")
    parser.add_argument("--windows", default="30,15,10", help="window_s values (default 30,15,10)")
    parser.add_argument("--shortest-s", type=float, default=1.0)
    parser.add_argument("--longest-s", type=float, default=8.0)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    items = prompts(args.prompts, args.shortest_s, args.longest_s)
    seconds = sum(len(a) for _, a, _ in items) / 8000
    print(f"{len(items)} prompts, {seconds:.0f} s of speech", flush=True)
    print("window_s    WER  median_ms  p90_ms  max_ms  read_again_in_30s")
    rows = []
    for window in (int(w) for w in args.windows.split(",")):
        row = measure(window, items)
        rows.append(row)
        print(
            f"{window:8d} {row['wer']:6.3f} {row['median_ms']:10.1f} {row['p90_ms']:7.1f}"
            f" {row['max_ms']:7.1f} {row['read_again_in_30s']:18d}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps({"prompts": len(items), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
