"""Backchannels in a transcript: "mm-hm", "yeah", "okay, right" are not a turn. Pure text
rules, shared by the call's barge-in policy and the recognisers that read sound over the bot
again (`telephonist.speech.asr.base.ReadsBackchannels`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["only_backchannels", "spoken_words"]

_ANNOTATION = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*")
"""Non-speech tags some recognisers write for noise: ``[cough]``, ``(laughs)``, ``*sigh*``."""
_NOT_WORD = re.compile(r"[^\w\s']+")
_DRAWN_OUT = re.compile(r"(\w)\1{2,}")


def spoken_words(text: str) -> list[str]:
    """The words of a transcript, lower-cased, without punctuation, hyphens or noise tags,
    letters held longer than twice shortened ("Mm-hmm." → ``["mmhmm"]``, "Mmmm" → ``["mm"]``)."""
    text = _DRAWN_OUT.sub(r"\1\1", _ANNOTATION.sub(" ", text.lower()).replace("-", ""))
    return [w.strip("'") for w in _NOT_WORD.sub("", text).split() if w.strip("'")]


def only_backchannels(backchannels: Sequence[str], text: str) -> bool:
    """Is ``text`` only backchannels ("mm-hm", "yeah yeah", "okay, right"), or no words at all?

    Each configured entry may have several words ("all right"); the text must be a run of
    whole entries."""
    words = spoken_words(text)
    entries = {tuple(spoken_words(entry)) for entry in backchannels}
    entries.discard(())
    longest = max((len(e) for e in entries), default=0)
    reachable = [True] + [False] * len(words)  # reachable[i]: words[:i] is a run of entries
    for end in range(1, len(words) + 1):
        reachable[end] = any(
            reachable[end - n] and tuple(words[end - n : end]) in entries
            for n in range(1, min(longest, end) + 1)
        )
    return reachable[-1]
