"""Embedded engines: load time, memory, ASR latency after end of speech, TTS first-chunk latency.

    python benchmarks/speech_engines.py [--utterances 12] [--json]

Run in a fresh process so load times and RSS are honest. Steps, in order: import + load
SileroVAD, LocalASR (Whisper tiny.en int8, beam 1) and LocalTTS (hibari "heart"), noting
wall time and the process RSS after each. Then:

* ASR: real 2-3.5 s Asterisk prompts are sent through a LocalASRStream as 20 ms frames between
  VAD edges; latency = ``on_vad(False)`` → `Final` (what a caller waits for after speaking,
  on top of the VAD's end-of-speech hangover). Word error rate is reported alongside.
* TTS: ``synthesize()`` → first chunk, for a short reply and a three-sentence reply, plus the
  real-time factor of the whole synthesis.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.audio_samples

from tests.audio_samples import plain_prompts, word_error_rate

SHORT = "Sure, one moment please."
LONG = (
    "Thank you for calling the dental clinic. I can book, move or cancel an appointment. "
    "What would you like to do today?"
)


def rss_mb() -> float:
    """Resident set size of this process in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def prompts(count: int) -> list[tuple[str, bytes, str]]:
    """Up to ``count`` prompts of 2-3.5 s with plain-word transcripts, as mu-law."""
    return [(p.name, p.mulaw, p.text) for p in plain_prompts(2.0, 3.5)[:count]]


def load_all(workers: int | None = None) -> tuple[dict[str, Any], Any, Any]:
    """Import and load each engine; timings and RSS after each."""
    steps: dict[str, Any] = {"baseline_rss_mb": round(rss_mb(), 1)}
    start = time.perf_counter()
    from telephonist.speech.vad.silero import SileroVAD

    SileroVAD().new_stream().probabilities(b"\xff" * 256)
    steps["vad"] = {"load_s": round(time.perf_counter() - start, 3), "rss_mb": round(rss_mb(), 1)}
    start = time.perf_counter()
    from telephonist.speech.asr.local import LocalASR

    asr = LocalASR() if workers is None else LocalASR(workers=workers)
    asr.load()
    steps["asr"] = {
        "load_s": round(time.perf_counter() - start, 3),
        "rss_mb": round(rss_mb(), 1),
        "threads": asr.threads,
        "workers": asr.workers,
    }
    start = time.perf_counter()
    from telephonist.speech.tts.local import LocalTTS

    tts = LocalTTS()
    tts.load()
    steps["tts"] = {"load_s": round(time.perf_counter() - start, 3), "rss_mb": round(rss_mb(), 1)}
    return steps, asr, tts


async def asr_latency(asr: Any, count: int) -> dict[str, Any]:
    """on_vad(False) → Final, per prompt."""
    stream = await asr.open_stream("en")
    warm = prompts(1)[0][1]
    await stream.on_vad(True)
    await stream.send(warm)
    await stream.on_vad(False)
    await anext(stream.events())
    rows = []
    events = stream.events()
    for name, audio, text in prompts(count):
        await stream.send(b"\xff" * 2400)
        await stream.on_vad(True)
        for i in range(0, len(audio), 160):
            await stream.send(audio[i : i + 160])
        start = time.perf_counter()
        await stream.on_vad(False)
        final = await anext(events)
        latency = time.perf_counter() - start
        rows.append(
            {
                "prompt": name,
                "audio_s": round(len(audio) / 8000, 2),
                "latency_s": round(latency, 3),
                "wer": round(word_error_rate(text, final.text), 3),
                "text": final.text,
            }
        )
    await stream.close()
    latencies = sorted(r["latency_s"] for r in rows)
    return {
        "utterances": len(rows),
        "median_s": statistics.median(latencies),
        "p90_s": latencies[int(0.9 * (len(latencies) - 1))],
        "max_s": latencies[-1],
        "mean_wer": round(statistics.mean(r["wer"] for r in rows), 3),
        "rows": rows,
    }


async def tts_latency(tts: Any, repeats: int = 5) -> dict[str, Any]:
    """synthesize() → first chunk, and the whole synthesis, for a short and a long reply."""
    from telephonist.speech.tts.base import VoiceSpec

    out: dict[str, Any] = {}
    for label, text in (("short", SHORT), ("long", LONG)):
        firsts, totals, audio_s = [], [], 0.0
        for _ in range(repeats):
            start = time.perf_counter()
            first, size = None, 0
            async for chunk in tts.synthesize(text, VoiceSpec()):
                first = first if first is not None else time.perf_counter() - start
                size += len(chunk)
            totals.append(time.perf_counter() - start)
            firsts.append(first or 0.0)
            audio_s = size / 8000
        out[label] = {
            "words": len(text.split()),
            "audio_s": round(audio_s, 2),
            "first_chunk_median_s": round(statistics.median(firsts), 4),
            "total_median_s": round(statistics.median(totals), 4),
            "rtf": round(statistics.median(totals) / audio_s, 4),
        }
    return out


async def asr_together(asr: Any, callers: Sequence[int]) -> dict[str, Any]:
    """N callers stop speaking at the same moment (each its own stream): seconds from then
    to each caller's Final, mean and last (median of 3 rounds)."""
    audio = [a for _, a, _ in prompts(max(callers))]
    out: dict[str, Any] = {}
    for n in callers:
        streams = [await asr.open_stream("en") for _ in range(n)]
        finals = [stream.events() for stream in streams]
        means, lasts = [], []
        for _ in range(3):
            for stream, clip in zip(streams, audio, strict=False):
                await stream.on_vad(True)
                await stream.send(clip)

            async def final(stream: Any, events: Any, start: float) -> float:
                await stream.on_vad(False)
                await anext(events)
                return time.perf_counter() - start

            start = time.perf_counter()
            done = await asyncio.gather(
                *(final(s, e, start) for s, e in zip(streams, finals, strict=True))
            )
            means.append(statistics.mean(done))
            lasts.append(max(done))
        for stream in streams:
            await stream.close()
        out[str(n)] = {
            "mean_s": round(statistics.median(means), 3),
            "last_s": round(statistics.median(lasts), 3),
        }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run everything; print a summary or JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=12)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local ASR workers (default: the engine's default)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    loads, asr, tts = load_all(args.workers)
    result = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "load": loads,
        "asr": asyncio.run(asr_latency(asr, args.utterances)),
        "asr_together": asyncio.run(asr_together(asr, (1, 2, 4, 8))),
        "tts": asyncio.run(tts_latency(tts)),
    }
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return 0
    print(f"baseline RSS {loads['baseline_rss_mb']} MB")
    for name in ("vad", "asr", "tts"):
        print(f"load {name}: {loads[name]['load_s']} s, RSS after {loads[name]['rss_mb']} MB")
    a = result["asr"]
    print(
        f"ASR after end of speech ({a['utterances']} prompts 2-3.5 s): median {a['median_s']} s,"
        f" p90 {a['p90_s']} s, max {a['max_s']} s, mean WER {a['mean_wer']}"
    )
    together = ", ".join(
        f"{n}: mean {r['mean_s']} s, last {r['last_s']} s"
        for n, r in result["asr_together"].items()
    )
    print(f"ASR, callers ending speech at once ({loads['asr']['workers']} workers): {together}")
    for label, t in result["tts"].items():
        print(
            f"TTS {label} ({t['words']} words, {t['audio_s']} s): first chunk "
            f"{t['first_chunk_median_s']} s, total {t['total_median_s']} s, RTF {t['rtf']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
