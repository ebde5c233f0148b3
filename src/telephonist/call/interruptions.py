"""Whether and how the caller interrupts what is playing: the barge-in policy, pure.

Sound with no words yet (the VAD's speech, a provider's speech-start event) stops the bot *on
hold* when ``resume_after_ms`` is set: it may be a cough or a "mm-hm", and the words decide
(`telephonist.call.barge_in`). Words that are all backchannels do not interrupt (unless the
bot was asking its closing question: then "yeah" is an answer). Other words and keypresses
stop the bot for good, at once.
"""

from __future__ import annotations

import re

from telephonist.config.channel import InterruptionSettings

__all__ = ["holds", "is_backchannel", "may_interrupt", "spoken_words"]


def may_interrupt(
    settings: InterruptionSettings,
    *,
    playing: bool,
    interruptible: bool,
    words: int | None,
    keypress: bool = False,
    held: bool = False,
) -> bool:
    """``words`` is None for speech heard by the VAD (no text yet), else the recognised word
    count. A keypress always interrupts interruptible audio. While a barge-in is ``held``
    (the bot stopped, waiting for words), only words or a key can decide it."""
    if held:
        return keypress or (words is not None and words >= max(1, settings.min_words))
    if not settings.enabled or not playing or not interruptible:
        return False
    if keypress:
        return True
    if words is None:
        return settings.min_words == 0
    return words >= max(1, settings.min_words)


def holds(settings: InterruptionSettings, *, trigger: str, text: str | None) -> bool:
    """Does an interruption allowed by `may_interrupt` stop the bot only on hold? Yes for
    sound without words yet (``text`` None), when ``resume_after_ms`` is set; never for a
    keypress or recognised words."""
    return settings.resume_after_ms > 0 and trigger != "dtmf" and text is None


_ANNOTATION = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*")
"""Non-speech tags some recognisers write for noise: ``[cough]``, ``(laughs)``, ``*sigh*``."""
_NOT_WORD = re.compile(r"[^\w\s']+")
_DRAWN_OUT = re.compile(r"(\w)\1{2,}")


def spoken_words(text: str) -> list[str]:
    """The words of a transcript, lower-cased, without punctuation, hyphens or noise tags,
    letters held longer than twice shortened ("Mm-hmm." → ``["mmhmm"]``, "Mmmm" → ``["mm"]``)."""
    text = _DRAWN_OUT.sub(r"\1\1", _ANNOTATION.sub(" ", text.lower()).replace("-", ""))
    return [w.strip("'") for w in _NOT_WORD.sub("", text).split() if w.strip("'")]


def is_backchannel(settings: InterruptionSettings, text: str) -> bool:
    """Is ``text`` only backchannels ("mm-hm", "yeah yeah", "okay, right"), or no words at all?

    Each configured entry may have several words ("all right"); the text must be a run of
    whole entries."""
    words = spoken_words(text)
    entries = {tuple(spoken_words(entry)) for entry in settings.backchannels}
    entries.discard(())
    longest = max((len(e) for e in entries), default=0)
    reachable = [True] + [False] * len(words)  # reachable[i]: words[:i] is a run of entries
    for end in range(1, len(words) + 1):
        reachable[end] = any(
            reachable[end - n] and tuple(words[end - n : end]) in entries
            for n in range(1, min(longest, end) + 1)
        )
    return reachable[-1]
