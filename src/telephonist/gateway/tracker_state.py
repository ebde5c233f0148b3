"""The dialogue state of gateway calls, for the inspector: Rasa's tracker (slots, latest
intent, entities, active form) read through Rasa's HTTP API after each turn.

Fetched in the background, at most one request per conversation at a time (turns that end
meanwhile are folded into one more fetch), so no turn ever waits for it. When the API cannot
be reached (Rasa started without ``--enable-api``, a missing token), the state says so and
the watch rests for a while instead of asking after every turn.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from telephonist.errors import ProviderError
from telephonist.gateway.client import RasaClient

__all__ = ["StatePublisher", "TrackerWatch", "summarise"]

log = logging.getLogger(__name__)

StatePublisher = Callable[[str, dict[str, Any]], None]
"""Receives a conversation id and its state (JSON-able)."""

RETRY_AFTER = 30.0
"""Seconds before an unreachable tracker API is tried again."""


def summarise(tracker: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a Rasa tracker the inspector shows."""
    latest = tracker.get("latest_message")
    latest = latest if isinstance(latest, Mapping) else {}
    intent = latest.get("intent")
    intent = intent if isinstance(intent, Mapping) else {}
    slots = tracker.get("slots")
    loop = tracker.get("active_loop")
    loop_name = loop.get("name") if isinstance(loop, Mapping) else None
    stack = []
    if loop_name:
        requested = slots.get("requested_slot") if isinstance(slots, Mapping) else None
        stack.append({"flow_id": f"form {loop_name}", "step_id": requested or ""})
    return {
        "source": "rasa",
        "flow_stack": stack,
        "slots": {
            str(k): v
            for k, v in (slots.items() if isinstance(slots, Mapping) else ())
            if v is not None and k != "requested_slot"
        },
        "latest_intent": {"name": intent.get("name"), "confidence": intent.get("confidence")},
        "entities": list(latest.get("entities") or []),
    }


class TrackerWatch:
    """Fetches trackers after turns and hands them to ``publish``."""

    def __init__(
        self,
        client: RasaClient,
        publish: StatePublisher,
        *,
        now: Callable[[], float] = time.monotonic,
        retry_after: float = RETRY_AFTER,
    ) -> None:
        self._client = client
        self._publish = publish
        self._now = now
        self._retry_after = retry_after
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._resting_until = 0.0
        self._told: set[str] = set()

    def refresh(self, sender: str) -> None:
        """A turn of ``sender`` ended: fetch its tracker soon (never waits)."""
        if sender in self._running:
            self._again.add(sender)
            return
        if self._now() < self._resting_until:
            return
        self._running[sender] = asyncio.create_task(self._fetch(sender))

    async def _fetch(self, sender: str) -> None:
        try:
            while True:
                self._again.discard(sender)
                try:
                    tracker = await self._client.tracker(sender)
                except ProviderError as exc:
                    self._resting_until = self._now() + self._retry_after
                    self._tell(sender, {"unavailable": f"Rasa's tracker is not readable: {exc}"})
                    return
                self._tell(sender, summarise(tracker))
                if sender not in self._again:
                    return
        except Exception:  # the inspector's view must never disturb a call
            log.exception("gateway.tracker_state_failed conversation=%s", sender)
        finally:
            self._running.pop(sender, None)

    def _tell(self, sender: str, state: dict[str, Any]) -> None:
        if "unavailable" in state:
            if sender in self._told:
                return  # said once per call is enough
            self._told.add(sender)
        self._publish(sender, state)

    def forget(self, sender: str) -> None:
        """The call is over."""
        self._again.discard(sender)
        self._told.discard(sender)

    async def aclose(self) -> None:
        """Stop every fetch in progress."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
