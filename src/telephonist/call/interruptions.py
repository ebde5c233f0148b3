"""Whether the caller may interrupt what is playing: the barge-in policy, pure."""

from __future__ import annotations

from telephonist.config.channel import InterruptionSettings

__all__ = ["may_interrupt"]


def may_interrupt(
    settings: InterruptionSettings,
    *,
    playing: bool,
    interruptible: bool,
    words: int | None,
    keypress: bool = False,
) -> bool:
    """``words`` is None for speech heard by the VAD (no text yet), else the recognised word
    count. A keypress always interrupts interruptible audio."""
    if not settings.enabled or not playing or not interruptible:
        return False
    if keypress:
        return True
    if words is None:
        return settings.min_words == 0
    return words >= max(1, settings.min_words)
