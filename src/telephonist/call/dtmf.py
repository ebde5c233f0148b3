"""Buffering keypresses for a collect step that asked for a length or a finish key. Pure."""

from __future__ import annotations

from collections.abc import Callable

from telephonist.call.clock import Clock, Timer
from telephonist.dialogue.turns import CollectDtmf

__all__ = ["DtmfCollector", "DtmfInput"]


class DtmfCollector:
    """Accumulates digits until ``length`` digits or ``finish_on_key`` (which is dropped)."""

    def __init__(self, request: CollectDtmf) -> None:
        self.request = request
        self._digits: list[str] = []

    @property
    def pending(self) -> str:
        """Digits collected so far."""
        return "".join(self._digits)

    def add(self, digit: str) -> str | None:
        """Add one digit; returns the complete input when it is complete."""
        if self.request.finish_on_key is not None and digit == self.request.finish_on_key:
            return self.take()
        self._digits.append(digit)
        if self.request.length is not None and len(self._digits) >= self.request.length:
            return self.take()
        if self.request.length is None and self.request.finish_on_key is None:
            return self.take()  # a collect with neither setting takes single digits
        return None

    def take(self) -> str:
        """Everything collected, emptying the buffer."""
        digits = self.pending
        self._digits.clear()
        return digits


class DtmfInput:
    """Keypresses for one call: single keys become turns at once, unless the assistant asked
    to collect several, which are buffered until complete or ``timeout`` after the last key."""

    def __init__(self, clock: Clock, timeout: float, submit: Callable[[str], None]) -> None:
        self._timeout = timeout
        self._submit = submit
        self._collector: DtmfCollector | None = None
        self._timer = Timer(clock, self._timed_out)

    def expect(self, request: CollectDtmf | None) -> None:
        """What the assistant's latest question wants (None: single keys)."""
        self._collector = DtmfCollector(request) if request is not None else None

    def key(self, digit: str) -> None:
        """One keypress."""
        if self._collector is None:
            self._submit(digit)
            return
        complete = self._collector.add(digit)
        if complete is None:
            self._timer.start(self._timeout)
        else:
            self._timer.cancel()
            self._submit(complete)

    def discard(self) -> None:
        """Forget a half-typed input (e.g. when the silence timeout fires)."""
        self._timer.cancel()
        if self._collector is not None:
            self._collector.take()

    def cancel(self) -> None:
        """Stop the inter-digit timer (call over)."""
        self._timer.cancel()

    async def _timed_out(self) -> None:
        if self._collector is not None and self._collector.pending:
            self._submit(self._collector.take())
