"""The inspector's event feed: recent calls kept for a snapshot, and live `CallEvent`s fanned
out to browser subscribers.

Publishing never blocks a call: each subscriber has a bounded queue, and when a slow browser
lets it fill up, the oldest message is dropped (and counted) to make room. What a caller says
or keys in answer to a sensitive question reaches neither the feed nor the snapshot: its
words and keys show as ``[sensitive]``, as in the log and the transcript, and so do the
commands a model made of it and the slots it filled, in every later state of the call.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telephonist.call.events import CallEnded, CallEvent, CallStarted, TurnTaken
from telephonist.recording.call_events import SensitiveCalls
from telephonist.recording.transcript import REDACTED

__all__ = ["CallRecord", "FeedHub", "Subscription"]

MAX_CALLS = 30
"""Recent calls kept for the snapshot (active calls are never evicted)."""
MAX_EVENTS_PER_CALL = 2000
QUEUE_SIZE = 1000


def _jsonable(value: Any) -> Any:
    """``value`` as JSON would read it back (unknown objects become strings)."""
    return json.loads(json.dumps(value, default=str))


@dataclass
class CallRecord:
    """What the inspector knows about one call."""

    call_id: str
    started_at: float
    started_wall: float
    caller: str = ""
    callee: str = ""
    ended_at: float | None = None
    end_reason: str | None = None
    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_EVENTS_PER_CALL))
    secrets: SecretSlots = field(default_factory=lambda: SecretSlots())

    def summary(self) -> dict[str, Any]:
        """The call-list row plus the call's events so far."""
        return {
            "call_id": self.call_id,
            "caller": self.caller,
            "callee": self.callee,
            "started_at": self.started_at,
            "started_wall": self.started_wall,
            "ended_at": self.ended_at,
            "end_reason": self.end_reason,
            "events": list(self.events),
        }


class SecretSlots:
    """One call's slots that hold an answer to a sensitive question, found by comparing the
    slots before and after the turn that took it, and hidden in every later state.

    The built-in engine hides its own (it knows its sensitive collect steps); this covers a
    Rasa server's tracker, whose slots the channel cannot know. A Rasa state may arrive a
    turn late, so the first change of slots after the answer is taken as its slots.
    """

    def __init__(self) -> None:
        self._last: dict[str, Any] = {}
        self._armed = False
        self._hidden: set[str] = set()

    def hide(self, message: dict[str, Any], secret: bool) -> dict[str, Any]:
        """``message`` (an event's JSON form) with secret slots and commands hidden."""
        state = message.get("state")
        if not isinstance(state, dict):
            return message
        if secret and message.get("kind") == TurnTaken.kind.value:
            self._armed = True
            if isinstance(state.get("llm"), dict) and "commands" in state["llm"]:
                state = {**state, "llm": {**state["llm"], "commands": [REDACTED]}}
        slots = state.get("slots")
        if isinstance(slots, dict):
            if self._armed:
                changed = {k for k, v in slots.items() if k not in self._last or self._last[k] != v}
                if changed:
                    self._hidden |= changed
                    self._armed = False
            self._last = dict(slots)
            if self._hidden:
                shown = {
                    k: REDACTED if k in self._hidden and v is not None else v
                    for k, v in slots.items()
                }
                state = {**state, "slots": shown}
        return message if state is message["state"] else {**message, "state": state}


class Subscription:
    """One browser's bounded queue of feed messages (drop-oldest when full)."""

    def __init__(self, size: int = QUEUE_SIZE) -> None:
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=size)
        self.dropped = 0

    def put(self, message: dict[str, Any]) -> None:
        """Queue ``message`` without ever waiting."""
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(message)

    async def get(self) -> dict[str, Any]:
        """The next message (waits for one)."""
        return await self._queue.get()


class FeedHub:
    """An `EventBus` subscriber that remembers recent calls and forwards live events."""

    def __init__(self, now: Callable[[], float], wall: Callable[[], float] = time.time) -> None:
        self._now = now
        self._wall = wall
        self.calls: OrderedDict[str, CallRecord] = OrderedDict()
        self._subscribers: list[Subscription] = []
        self._sensitive = SensitiveCalls()

    def __call__(self, event: CallEvent) -> None:
        record = event.as_dict()
        secret = self._sensitive.secret(event)
        if secret:
            record = self._sensitive.masked(record)
        message = _jsonable(record)
        if event.call_id:
            call = self._call(event)
            message = call.secrets.hide(message, secret)
            self._remember(call, event, message)
        for subscriber in self._subscribers:
            subscriber.put({"type": "event", "event": message})

    def snapshot(self) -> dict[str, Any]:
        """Every remembered call with its events, and the server's clock readings."""
        return {
            "type": "snapshot",
            "now": self._now(),
            "wall": self._wall(),
            "calls": [record.summary() for record in self.calls.values()],
        }

    def subscribe(self) -> tuple[Subscription, Callable[[], None]]:
        """A new subscription whose first message is the snapshot; and its cancel function."""
        subscription = Subscription()
        subscription.put(self.snapshot())
        self._subscribers.append(subscription)
        return subscription, lambda: self._subscribers.remove(subscription)

    @property
    def subscriber_count(self) -> int:
        """Connected browsers."""
        return len(self._subscribers)

    def _call(self, event: CallEvent) -> CallRecord:
        record = self.calls.get(event.call_id)
        if record is None:
            record = CallRecord(event.call_id, event.at, self._wall())
            self.calls[event.call_id] = record
            self._evict()
        return record

    def _remember(self, record: CallRecord, event: CallEvent, message: dict[str, Any]) -> None:
        if isinstance(event, CallStarted):  # again, on a resumed call's new stream
            record.caller = event.user_phone or ""
            record.callee = event.bot_phone or ""
            record.ended_at, record.end_reason = None, None
        elif isinstance(event, CallEnded):
            record.ended_at = event.at
            record.end_reason = event.reason
        record.events.append(message)

    def _evict(self) -> None:
        """Forget the oldest ended calls beyond `MAX_CALLS`."""
        excess = len(self.calls) - MAX_CALLS
        for call_id in [c for c, r in self.calls.items() if r.ended_at is not None][:excess]:
            del self.calls[call_id]
