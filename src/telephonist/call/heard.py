"""How much of a bot message the caller heard before barging in, in words."""

from __future__ import annotations

from telephonist.audio.formats import MULAW_BYTES_PER_MS

__all__ = ["heard_text"]

BYTES_PER_WORD = 400 * MULAW_BYTES_PER_MS
"""About 150 words a minute: used when synthesis had not finished, so the length is unknown."""


def heard_text(text: str, heard_bytes: int, sent_bytes: int, complete: bool) -> str:
    """The words of ``text`` played by ``heard_bytes`` of its audio.

    Audio is assumed to spread evenly over the words: marks every 500 ms bound the error to
    about a word or two either way.
    """
    words = text.split()
    if not words or heard_bytes <= 0:
        return ""
    total = sent_bytes if complete else max(sent_bytes, len(words) * BYTES_PER_WORD)
    if total <= 0:
        return ""
    count = min(len(words), int(len(words) * heard_bytes / total + 0.5))
    return " ".join(words[:count])
