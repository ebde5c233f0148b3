"""How well the recogniser's sentence-end probability tells a cut sentence from a whole one.

    python benchmarks/sentence_end.py                       # bounds 0.5,0.6,0.7,0.8
    python benchmarks/sentence_end.py --bounds 0.65,0.7,0.75 --json sentence_end.json

Each recorded Asterisk prompt of 1.5-6 s (8 kHz mu-law) is read by the local ASR
(``LocalASR.transcribe``, the 10 s window) twice over: whole, and cut at up to two word gaps
in the middle of its speech (``turn_taking_clips.word_gaps``, as the turn-taking benchmark
splices its pauses), each followed by ``--quiet-ms`` of silence (the early pass starts after
``asr.speculate_ms``: 60 ms). Prompts published as fragments ("...to reset your volume") are
left out of the whole ones.

For each bound of ``turn.unfinished_below`` it prints how many of each sound unfinished
(`telephonist.turn.unfinished`, with the default words and the missing-stop rule): a cut
sentence caught waits for the caller to go on; a whole sentence caught waits
``turn.unfinished_wait_ms`` for nothing. Bound 0 is the cue without the probability.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # for tests.audio_samples

from tests.audio_samples import plain_prompts, silence  # noqa: E402
from turn_taking_clips import word_gaps  # noqa: E402

from telephonist.config.turn import UNFINISHED_WORDS  # noqa: E402
from telephonist.turn.unfinished import sounds_unfinished  # noqa: E402

_WORD = re.compile(r"[\w']+")


def readings(quiet_ms: int, gaps_per_prompt: int) -> list[dict[str, Any]]:
    """Every prompt whole and cut: what the local ASR wrote and its sentence end."""
    from telephonist.speech.asr.local import LocalASR

    asr = LocalASR(workers=1)
    asr.load()
    quiet = silence(quiet_ms / 1000)
    rows: list[dict[str, Any]] = []
    for prompt in plain_prompts(1.5, 6.0):
        pieces = []
        if "..." not in prompt.text and "\u2026" not in prompt.text:
            pieces.append(("whole", prompt.mulaw))
        for start, end in word_gaps(prompt.mulaw)[:gaps_per_prompt]:
            pieces.append(("cut", prompt.mulaw[: (start + end) // 2 // 160 * 160]))
        for kind, audio in pieces:
            final = asr.transcribe(audio + quiet, "en")
            if final is not None:
                rows.append(
                    {
                        "prompt": prompt.name,
                        "kind": kind,
                        "text": final.text,
                        "sentence_end": final.sentence_end,
                    }
                )
    return rows


def caught(rows: list[dict[str, Any]], bound: float) -> int:
    """How many of ``rows`` sound unfinished with ``bound``."""
    return sum(
        sounds_unfinished(
            r["text"],
            UNFINISHED_WORDS,
            punctuated=True,
            sentence_end=r["sentence_end"],
            sentence_end_below=bound,
        )
        for r in rows
    )


def share(part: int, whole: int) -> str:
    """``part of whole (pct)``, padded for the table."""
    return f"{part:5d} of {whole:<4d} ({part / max(whole, 1):4.0%})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bounds", default="0.5,0.6,0.7,0.8", help="unfinished_below values")
    parser.add_argument("--quiet-ms", type=int, default=60, help="silence after each (60)")
    parser.add_argument("--gaps", type=int, default=2, help="cuts per prompt at most (2)")
    parser.add_argument("--json", type=Path, help="also write the rows and table here")
    args = parser.parse_args()
    rows = readings(args.quiet_ms, args.gaps)
    whole = [r for r in rows if r["kind"] == "whole"]
    cut = [r for r in rows if r["kind"] == "cut"]
    longer = [r for r in cut if len(_WORD.findall(r["text"])) >= 3]
    unknown = sum(r["sentence_end"] is None for r in rows)
    print(
        f"{len(whole)} whole sentences, {len(cut)} cut ones ({len(longer)} of 3 words or more);"
        f" {unknown} readings without a sentence end (read in the full window)"
    )
    print("unfinished_below   cut caught        3+ words caught   whole caught")
    table = []
    for bound in [0.0, *(float(b) for b in args.bounds.split(","))]:
        line = {
            "cut": caught(cut, bound),
            "cut_3_words": caught(longer, bound),
            "whole": caught(whole, bound),
        }
        table.append({"bound": bound, **line})
        cells = [share(line["cut"], len(cut)), share(line["cut_3_words"], len(longer))]
        print(f"{bound:16.2f} {' '.join(cells)} {share(line['whole'], len(whole))}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"table": table, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
