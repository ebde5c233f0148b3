"""The bus call events travel on (`telephonist.call.events` defines them).

Subscribers are plain callables that must not block (queue work elsewhere if needed); one
failing subscriber is logged and never breaks the call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telephonist.call.events import CallEvent

__all__ = ["EventBus", "Subscriber"]

log = logging.getLogger("telephonist.call.events")

Subscriber = Callable[["CallEvent"], None]


class EventBus:
    """Fan-out of call events to subscribers."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns a function that removes it."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def publish(self, event: CallEvent) -> None:
        """Deliver ``event`` to every subscriber."""
        for subscriber in self._subscribers:
            try:
                subscriber(event)
            except Exception:  # a broken observer must never break a call
                log.exception("events.subscriber_failed", extra={"kind": event.kind.value})
