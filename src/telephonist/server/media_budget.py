"""How much caller audio one stream may send: a token bucket in milliseconds of audio.

Twilio sends audio in real time. A stream may run ``rate`` times faster than that, after a
``burst`` of audio sent ahead (a network hiccup delivers a backlog at once; the simulator and
tests run faster than real time). Audio beyond the budget is dropped before it reaches the
VAD or the ASR, which every call shares: one fast caller cannot buy other calls' turns.

Pure: the time source is injected. It is the real monotonic clock in the server, because the
budget protects real CPU, which virtual time does not consume.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["MediaBudget"]


class MediaBudget:
    """Admits or refuses each frame of one stream."""

    def __init__(self, rate: float, burst_s: float, now: Callable[[], float]) -> None:
        self._rate_ms = rate * 1000.0
        self._burst_ms = burst_s * 1000.0
        self._now = now
        self._available = self._burst_ms
        self._at = now()
        self.dropped = 0
        """Frames refused so far."""
        self.reported = 0
        """Of those, how many the server has counted in its metrics."""

    def admit(self, audio_ms: float) -> bool:
        """True if a frame of ``audio_ms`` may go on; else it is counted as dropped."""
        now = self._now()
        self._available = min(self._burst_ms, self._available + (now - self._at) * self._rate_ms)
        self._at = now
        if audio_ms <= self._available:
            self._available -= audio_ms
            return True
        self.dropped += 1
        return False
