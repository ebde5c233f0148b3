"""Wiring a `RasaAssistant` into a server: which block selects it, what the TTS and the call
control allow, and how its failures and Rasa's dialogue state reach the call events."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from telephonist.call.clock import Clock, SystemClock
from telephonist.call.events import AssistantState, ErrorReported, EventBus
from telephonist.config.channel import ChannelConfig
from telephonist.dialogue.assistant import TrackerStore
from telephonist.dialogue.turns import Assistant
from telephonist.errors import ProviderError
from telephonist.gateway import GatewaySettings, RasaAssistant, settings_for_url
from telephonist.gateway.settings import read_gateway

__all__ = ["answering", "build_gateway", "gateway_settings", "watch_gateway_state"]

log = logging.getLogger(__name__)

SSML_ENGINES = frozenset({"azure"})
"""TTS engines that take a message's SSML as is (the others speak its text)."""


def gateway_settings(
    endpoints_file: Path, environ: Mapping[str, str], rasa_url: str | None = None
) -> GatewaySettings | None:
    """The gateway's settings when ``--rasa-url`` or an ``assistant:`` block asks for it."""
    block = read_gateway(endpoints_file, environ)
    if rasa_url:
        return settings_for_url(rasa_url, block, option="--rasa-url")
    return block


def build_gateway(
    settings: GatewaySettings,
    channel: ChannelConfig,
    events: EventBus,
    *,
    can_transfer: bool,
    clock: Clock | None = None,
    store: TrackerStore | None = None,
) -> RasaAssistant:
    """A `RasaAssistant` whose failures become ``error`` call events (and so metrics); with
    a ``store``, it keeps each call's own state there (for a resume)."""
    now = (clock or SystemClock()).now

    def failed(conversation_id: str, exc: ProviderError) -> None:
        events.publish(
            ErrorReported(
                call_id=conversation_id,
                at=now(),
                source="assistant",
                message=str(exc),
                retryable=exc.retryable,
            )
        )

    if settings.max_connections is None:  # a pool with room for every call the process holds
        settings = dataclasses.replace(settings, max_connections=channel.limits.max_calls)
    first_tts = str(channel.tts[0].get("name", "")) if channel.tts else ""
    if not can_transfer:
        log.info(
            "gateway: no Twilio REST credentials; a transfer payload is answered with "
            "assistant.phrases.no_transfer"
        )
    return RasaAssistant(
        settings,
        ssml_ok=first_tts in SSML_ENGINES,
        can_transfer=can_transfer,
        on_error=failed,
        store=store,
    )


def watch_gateway_state(assistant: Assistant, events: EventBus, clock: Clock) -> None:
    """With the inspector on, publish each gateway call's Rasa tracker as ``assistant.state``
    events (no-op for the built-in assistant)."""
    if not isinstance(assistant, RasaAssistant):
        return

    def publish(conversation_id: str, state: dict[str, Any]) -> None:
        events.publish(AssistantState(call_id=conversation_id, at=clock.now(), state=state))

    assistant.watch_state(publish)


def answering(assistant: Assistant) -> str | None:
    """ "the Rasa server at URL" for a gateway (never with its token), else None."""
    if isinstance(assistant, RasaAssistant):
        return f"the Rasa server at {assistant.settings.url}"
    return None
