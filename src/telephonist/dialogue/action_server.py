"""The Rasa SDK action protocol, and its client for an action server
(``python -m rasa_sdk --actions actions``).

A request holds ``next_action``, ``sender_id``, ``tracker``, ``domain`` and ``version``; the
answer holds ``events`` and ``responses``. `action_request` and `action_result` are shared
with the in-process runner (`telephonist.dialogue.action_module`), so the engine cannot tell
the two apart. Every failure (timeout, refused connection, non-200, bad JSON) becomes a
ProviderError; the assistant turns it into ``pattern_internal_error``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from telephonist.dialogue.model import Domain
from telephonist.dialogue.tracker import Tracker
from telephonist.errors import ProviderError

__all__ = [
    "ActionResult",
    "ActionRunner",
    "ActionServerClient",
    "action_request",
    "action_result",
    "domain_payload",
    "tracker_payload",
]

PROTOCOL_VERSION = "3.21.0"  # the Rasa version whose webhook payload we produce
_RASA_EVENTS = {"user", "bot", "slot", "action", "session_started", "restart"}


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What a custom action did: tracker events to apply and messages to say."""

    events: list[dict[str, Any]]
    responses: list[dict[str, Any]]


class ActionRunner(Protocol):
    """Where custom actions run: an action server over HTTP, or a module in-process."""

    timeout: float

    async def run(self, action: str, tracker: Tracker) -> ActionResult:
        """Execute ``action``; raises ProviderError on any failure."""
        ...

    async def aclose(self) -> None:
        """Release connections or workers."""
        ...


def action_request(action: str, tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
    """The body of one action call (``domain`` from `domain_payload`)."""
    return {
        "next_action": action,
        "sender_id": tracker.conversation_id,
        "tracker": tracker_payload(tracker),
        "domain": domain,
        "version": PROTOCOL_VERSION,
    }


def action_result(provider: str, action: str, data: Any) -> ActionResult:
    """The events and responses of an action's answer (``None`` means neither)."""
    if data is None:
        return ActionResult([], [])
    if not isinstance(data, dict):
        raise ProviderError(provider, f"{action}: unexpected response", retryable=False)
    events = [e for e in data.get("events") or [] if isinstance(e, dict)]
    responses = [r for r in data.get("responses") or [] if isinstance(r, dict)]
    return ActionResult(events, responses)


def tracker_payload(tracker: Tracker, channel: str = "twilio_media_streams") -> dict[str, Any]:
    """The tracker as the Rasa SDK expects it (only event types Rasa knows)."""
    events = []
    for event in tracker.events:
        kind = event.get("event")
        if kind not in _RASA_EVENTS:
            continue
        item = {k: v for k, v in event.items() if k not in ("source", "confidence")}
        if kind == "user":
            item.setdefault("input_channel", channel)
        events.append(item)
    return {
        "sender_id": tracker.conversation_id,
        "slots": dict(tracker.slots),
        "latest_message": dict(tracker.latest_message),
        "events": events,
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": tracker.latest_action,
        "latest_input_channel": channel,
        "stack": [f.to_dict() for f in tracker.stack],
    }


def domain_payload(domain: Domain) -> dict[str, Any]:
    """The domain in Rasa's dict shape (intents, entities, slots, responses, actions)."""
    return {
        "version": "3.1",
        "intents": list(domain.intents),
        "entities": list(domain.entities),
        "slots": {
            name: {
                "type": slot.type,
                "initial_value": slot.initial_value,
                **({"values": list(slot.values)} if slot.values else {}),
                "mappings": [{"type": m.type} for m in slot.mappings] or [{"type": "controlled"}],
            }
            for name, slot in domain.slots.items()
        },
        "responses": {
            name: [{"text": v.text} for v in response.variations]
            for name, response in domain.responses.items()
        },
        "actions": list(domain.actions),
        "session_config": {
            "session_expiration_time": domain.session_expiration_minutes,
            "carry_over_slots_to_new_session": domain.carry_over_slots,
        },
    }


class ActionServerClient:
    """Runs custom actions over HTTP; one client (connection pool) per assistant."""

    def __init__(
        self,
        url: str,
        domain: Domain,
        timeout: float = 5.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self._domain = domain_payload(domain)
        self._client = client or httpx.AsyncClient(timeout=timeout)

    async def run(self, action: str, tracker: Tracker) -> ActionResult:
        """Execute ``action``; raises ProviderError on any failure."""
        body = action_request(action, tracker, self._domain)
        try:
            response = await self._client.post(self.url, json=body, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            raise ProviderError("action_server", f"{action}: timed out", retryable=True) from exc
        except httpx.HTTPError as exc:
            raise ProviderError(
                "action_server", f"{action}: {type(exc).__name__}: {exc}", retryable=True
            ) from exc
        if response.status_code != 200:
            detail = response.text[:200]
            raise ProviderError(
                "action_server",
                f"{action}: HTTP {response.status_code}: {detail}",
                retryable=response.status_code >= 500,
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise ProviderError(
                "action_server", f"{action}: response is not JSON", retryable=False
            ) from exc
        return action_result("action_server", action, data)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
