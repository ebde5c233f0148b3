"""Buffering keypresses for a collect step that asked for a length or a finish key. Pure."""

from __future__ import annotations

from telephonist.dialogue.turns import CollectDtmf

__all__ = ["DtmfCollector"]


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
