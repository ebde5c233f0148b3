"""Silence monitoring: the caller's turn to speak, timed; consecutive timeouts counted."""

from __future__ import annotations

from collections.abc import Callable

from telephonist.call.clock import Clock, Timer

__all__ = ["SilenceMonitor"]


class SilenceMonitor:
    """Fires ``on_silence(consecutive, timeout)`` when armed and not reset in time.

    The session arms it when the bot has finished speaking and nothing is pending, and resets
    it on any sign of the caller (speech, partial text, a key). ``timeout`` follows the
    assistant (a collect step may ask for its own); 0 disables monitoring.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        enabled: bool,
        timeout: float,
        still_idle: Callable[[], bool],
        on_silence: Callable[[int, float], None],
    ) -> None:
        self.enabled = enabled
        self.default_timeout = timeout
        self.timeout = timeout
        self.consecutive = 0
        self._still_idle = still_idle
        self._on_silence = on_silence
        self._timer = Timer(clock, self._fired)

    def follow(self, timeout: float | None) -> None:
        """The assistant's timeout for the next caller turn (None: the channel default)."""
        self.timeout = self.default_timeout if timeout is None else timeout

    def arm(self) -> None:
        """Start timing the caller's silence."""
        if self.enabled and self.timeout > 0:
            self._timer.start(self.timeout)

    def reset(self, *, caller_spoke: bool = False) -> None:
        """Stop timing; ``caller_spoke`` (a real utterance) also restarts the count."""
        self._timer.cancel()
        if caller_spoke:
            self.consecutive = 0

    def cancel(self) -> None:
        """Stop for good (call over)."""
        self._timer.cancel()

    async def _fired(self) -> None:
        if not self._still_idle():
            return
        self.consecutive += 1
        self._on_silence(self.consecutive, self.timeout)
