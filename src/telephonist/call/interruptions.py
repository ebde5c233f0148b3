"""Whether and how the caller interrupts what is playing: the barge-in policy, pure.

Sound with no words yet (the VAD's speech, a provider's speech-start event) stops the bot *on
hold* when ``resume_after_ms`` is set: it may be a cough or a "mm-hm", and the words decide
(`telephonist.call.barge_in`). Words that are all backchannels do not interrupt (unless the
bot was asking its closing question: then "yeah" is an answer). Other words and keypresses
stop the bot for good, at once.
"""

from __future__ import annotations

from telephonist.config.channel import InterruptionSettings
from telephonist.speech.backchannels import only_backchannels, spoken_words

__all__ = ["believed", "holds", "is_backchannel", "may_interrupt", "spoken_words"]


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


def is_backchannel(settings: InterruptionSettings, text: str) -> bool:
    """Is ``text`` only the configured backchannels, or no words at all
    (`telephonist.speech.backchannels`)?"""
    return only_backchannels(settings.backchannels, text)


def believed(settings: InterruptionSettings, text: str, backchannel_reading: str | None) -> str:
    """Which reading of sound over the bot to believe: the recogniser's second reading,
    made expecting backchannels, when it is all backchannels and the first is not (a hum
    first written as "Bim, bim."); else the first. On recorded words and sentences the
    second reading never turned words into a backchannel."""
    if (
        backchannel_reading
        and is_backchannel(settings, backchannel_reading)
        and not is_backchannel(settings, text)
    ):
        return backchannel_reading.strip()
    return text
