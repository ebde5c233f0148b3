"""One connection's refused frames: counted for ``/metrics`` under a reason from a closed set,
logged within bounds.

Before ``start`` the peer has proved nothing: its refusals are summed up in one log line per
connection, and after `MAX_BEFORE_START` of them the connection is closed. After ``start`` (a
caller with a valid stream token), each reason is logged once per call. Messages carry only
what `telephonist.twilio.rejection.brief` lets through of the caller's input.
"""

from __future__ import annotations

import logging

from telephonist.call.clock import Clock
from telephonist.call.events import EventBus, StreamRejected
from telephonist.twilio.rejection import Rejection

__all__ = ["MAX_BEFORE_START", "Rejections"]

log = logging.getLogger("telephonist.server.media_socket")

MAX_BEFORE_START = 3
"""Refused frames a connection may send before ``start``; Twilio sends none."""


class Rejections:
    """Counts, publishes and logs one connection's refused frames."""

    def __init__(self, events: EventBus, clock: Clock) -> None:
        self._events = events
        self._clock = clock
        self._logged: set[Rejection] = set()
        self._first: str | None = None
        self.call_id = ""
        """Set once ``start`` is accepted: later refusals belong to that call."""
        self.before_start = 0

    def __call__(self, reason: Rejection, detail: str = "", *, count: int = 1) -> None:
        """``count`` frames were refused for ``reason``; ``detail`` is already bounded."""
        self._events.publish(
            StreamRejected(
                call_id=self.call_id, at=self._clock.now(), reason=reason.value, count=count
            )
        )
        if not self.call_id:
            self.before_start += count
            if self._first is None:
                self._first = detail or reason.value
            return
        if reason not in self._logged:
            self._logged.add(reason)
            log.warning(
                "stream.rejected: %s", detail or reason.value, extra={"call_id": self.call_id}
            )

    @property
    def exhausted(self) -> bool:
        """Enough refusals before ``start``: close the connection."""
        return not self.call_id and self.before_start >= MAX_BEFORE_START

    def summarise(self, outcome: str) -> None:
        """The one log line for refusals before ``start`` (nothing if there were none)."""
        if self.before_start:
            log.warning(
                "stream.rejected_before_start: %d frame(s), first: %s; %s",
                self.before_start,
                self._first,
                outcome,
            )
