"""Does a transcript stop mid-sentence? A text cue beside the turn model's acoustic one.

The turn model hears a pause; it cannot hear that "Please enter your" has no object yet. The
recogniser's words can: a transcript that trails off (an ellipsis, a cut word's hyphen, a
comma), or whose last word cannot end an English sentence (an article, a possessive, a
preposition that needs its object, a conjunction, a filler), was cut by a pause the caller
means to go on from. On 120 recorded prompts of the kind the tests use, the local Whisper
wrote such an ending for a tenth of the parts before a word gap; a recogniser that ends every
whole sentence with ``.``, ``?`` or ``!`` (``punctuated``) also marks a cut one by leaving the
stop off, which made it a fifth (21 of 95), against one whole sentence in 117. That holds from
three words on: Whisper leaves the stop off 44 % of one-word answers ("cancelled") and 25 % of
two-word ones ("telephone number") of the same recordings, against 1 in 26 of three words.

A recogniser that says how sure it was that a sentence ends where its words end
(`Final.sentence_end`: the local Whisper) marks more: a cut sentence is often written with a
stop all the same ("Please enter your password."), but a less certain one. From three words
on, words it gives less than ``sentence_end_below`` (``turn.unfinished_below``) are unfinished
too (``benchmarks/sentence_end.py`` measures how many cut and whole sentences that holds).

The words are configured (``turn.unfinished_words``; English by default,
`telephonist.config.turn.UNFINISHED_WORDS`). Pure: no I/O, no state.
"""

from __future__ import annotations

import re
from collections.abc import Collection

__all__ = ["sounds_unfinished"]

_TRAILING = ("...", "\u2026", "-", "\u2014", "\u2013", ",")
"""An ellipsis, a hyphen or dash (a word or sentence cut off), a comma."""
_SENTENCE_END = (".", "?", "!")
_WORD = re.compile(r"[\w']+")
_FEWEST_WORDS_FOR_A_STOP = 3
"""A shorter transcript without a stop is a short answer, not a cut sentence."""


def sounds_unfinished(
    text: str,
    words: Collection[str],
    *,
    punctuated: bool = False,
    sentence_end: float | None = None,
    sentence_end_below: float = 0.0,
) -> bool:
    """Does ``text`` stop mid-sentence? ``words``: lower-case words a sentence does not end
    on; ``punctuated``: the recogniser ends each whole sentence with ``.``, ``?`` or ``!``,
    so a transcript of three words or more without one was cut off; ``sentence_end``: the
    recogniser's probability that a sentence ends there, which marks three words or more
    as cut off below ``sentence_end_below`` (0: never). An empty transcript is not
    unfinished."""
    stripped = text.rstrip(" \"')]")
    if not stripped:
        return False
    if stripped.endswith(_TRAILING):
        return True
    if stripped.endswith("?") or stripped.endswith("!"):
        return False  # a question or an exclamation is whole, whatever its last word
    found = _WORD.findall(stripped.lower())
    if found and found[-1].strip("'") in words:
        return True
    if len(found) < _FEWEST_WORDS_FOR_A_STOP:
        return False
    if sentence_end is not None and sentence_end < sentence_end_below:
        return True
    return punctuated and not stripped.endswith(_SENTENCE_END)
