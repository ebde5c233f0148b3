"""What the caller has heard, from the marks Twilio echoes.

Twilio plays our audio in order and echoes each mark when playback reaches it. A ``clear``
drops the queue and echoes every pending mark at once, so those echoes prove nothing: they are
ignored here. Pure bookkeeping; the session feeds it and asks questions.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["Playback", "PlayedMark"]


@dataclass(frozen=True, slots=True)
class PlayedMark:
    """A mark the caller really reached: ``offset`` bytes of message ``message_id`` played."""

    message_id: int
    offset: int
    final: bool


class Playback:
    """Pending marks and the furthest point heard of each message."""

    def __init__(self) -> None:
        self._pending: OrderedDict[str, PlayedMark] = OrderedDict()
        self._cleared: set[str] = set()
        self._heard: dict[int, int] = {}

    @property
    def playing(self) -> bool:
        """True while any mark we sent has not come back."""
        return bool(self._pending)

    def current_message(self) -> int | None:
        """The message playing now: the one the oldest pending mark belongs to."""
        for mark in self._pending.values():
            return mark.message_id
        return None

    def sent(self, name: str, message_id: int, offset: int, *, final: bool) -> None:
        """We sent mark ``name`` after ``offset`` bytes of message ``message_id``."""
        self._pending[name] = PlayedMark(message_id, offset, final)

    def echoed(self, name: str) -> PlayedMark | None:
        """Twilio echoed ``name``. Returns the mark if it proves playback, else None."""
        if name in self._cleared:
            self._cleared.discard(name)
            return None
        mark = self._pending.pop(name, None)
        if mark is None:
            return None
        # Marks are echoed in order: any earlier pending mark was reached too.
        for earlier in [
            n
            for n in self._pending
            if self._pending[n].message_id == mark.message_id
            and self._pending[n].offset <= mark.offset
        ]:
            del self._pending[earlier]
        self._heard[mark.message_id] = max(self._heard.get(mark.message_id, 0), mark.offset)
        return mark

    def cleared(self) -> None:
        """We sent ``clear``: every pending mark's echo will be meaningless."""
        self._cleared.update(self._pending)
        self._pending.clear()

    def heard_bytes(self, message_id: int) -> int:
        """How many bytes of message ``message_id`` the caller heard for sure."""
        return self._heard.get(message_id, 0)

    def forget(self, message_id: int) -> None:
        """Drop what is known of a finished message (keeps memory flat on long calls)."""
        self._heard.pop(message_id, None)
