"""Calls through a real server whose assistant is the gateway to a fake Rasa: the menu on
the keypad, a hang-up payload, a Rasa that is down; and `build_runtime` in gateway mode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from tests.fakes.rasa_server import Answer, FakeRasa
from tests.server.conftest import serve, silero

from telephonist.call.events import (
    AssistantState,
    BotMessageStarted,
    CallEnded,
    ErrorReported,
    EventKind,
)
from telephonist.errors import ConfigError
from telephonist.gateway import GatewaySettings, RasaAssistant
from telephonist.server.assembly import Paths, build_runtime
from telephonist.server.gateway_setup import build_gateway, watch_gateway_state

__all__ = ["serve", "silero"]

GREETING = "Welcome. For Order status, press 1. For Billing, press 2."
ANSWERS: dict[str, Answer] = {
    "/greet": [
        {
            "text": "Welcome.",
            "buttons": [
                {"title": "Order status", "payload": "/check_order"},
                {"title": "Billing", "payload": "/billing"},
            ],
        }
    ],
    "/check_order": [
        {"text": "It left today. Goodbye."},
        {"custom": {"hangup": True}},
    ],
}


def gateway_for(url: str, served_events, **settings) -> RasaAssistant:
    """The assistant as `build_runtime` wires it: failures become call events."""
    from telephonist.config.channel import parse_channel

    channel = parse_channel(
        {"server_url": "x", "asr": {"name": "local"}, "tts": {"name": "local"}},
        file="credentials.yml",
        environ={},
    )
    return build_gateway(
        GatewaySettings(url=url, **settings), channel, served_events, can_transfer=False
    )


async def test_a_call_picks_a_button_by_key_and_rasa_hangs_up(serve):
    """The greeting's menu is spoken; key 1 sends the first payload with ``source: dtmf``;
    the answer's hang-up payload ends the call after its message."""
    fake = FakeRasa(answers=ANSWERS)
    async with fake.running() as url, serve() as served:
        assistant = gateway_for(url, served.runtime.events, start_message="/greet")
        watch_gateway_state(assistant, served.runtime.events, served.clock)  # as --inspect
        served.runtime.assistant = assistant
        served.assistant.greeting = GREETING  # what the caller waits to hear first
        caller = await served.connected_call()
        await caller.play_all()
        await caller.send_dtmf("1")
        await served.wait_for_speech(caller, "It left today. Goodbye.")
        await caller.play_all()  # the goodbye is heard: now the bot hangs up
        await served.wait_event(EventKind.HANG_UP)
        await served.wait_event(EventKind.CALL_ENDED)
        await assistant.close()
    assert fake.messages() == ["/greet", "/check_order", "/session_end"]
    assert fake.received[1]["metadata"]["source"] == "dtmf"
    spoken = [e.text for e in served.kinds(BotMessageStarted)]
    assert spoken == [GREETING, "It left today. Goodbye."]
    assert served.kinds(CallEnded)[0].reason == "bot hung up"
    assert not served.kinds(EventKind.ERROR)
    states = served.kinds(AssistantState)  # the inspector's dialogue-state panel
    assert states and states[0].state["source"] == "rasa"


@asynccontextmanager
async def troubled_rasa(trouble: str) -> AsyncIterator[str]:
    """The URL of a Rasa that is down, answers HTTP 500, or never answers in time."""
    if trouble == "down":
        async with FakeRasa().running() as url:
            pass  # nothing listens there any more
        yield url
        return
    fake = FakeRasa(status=500) if trouble == "failing" else FakeRasa(hold=asyncio.Event())
    async with fake.running() as url:
        yield url


@pytest.mark.parametrize("trouble", ["down", "failing", "slow"])
async def test_a_troubled_rasa_never_leaves_the_caller_in_silence(serve, trouble):
    """Rasa down, failing or slow: the caller hears the apology at the greeting and after
    each input, each failure is an error event and a metric, and the call goes on."""
    async with troubled_rasa(trouble) as url, serve() as served:
        assistant = gateway_for(url, served.runtime.events, timeout=0.3)
        served.runtime.assistant = assistant
        apology = assistant.settings.phrases.apology
        served.assistant.greeting = apology
        caller = await served.connected_call()  # the apology's audio arrived in full
        await caller.play_all()
        await caller.send_dtmf("5")
        await served.wait_for_speech(caller, apology)  # and again after the key
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"{served.base_url}/metrics")).text
        await caller.hang_up()
        await served.wait_event(EventKind.CALL_ENDED)
        await assistant.close()
    errors = served.kinds(ErrorReported)
    assert [e.source for e in errors] == ["assistant"] * 3  # start, key, end
    assert all(e.call_id == caller.call_sid and e.retryable for e in errors)
    assert 'telephonist_provider_errors_total{retryable="true",source="assistant"} 2.0' in metrics
    assert [e.text for e in served.kinds(BotMessageStarted)] == [apology, apology]


CREDENTIALS = """twilio_media_streams:
  server_url: "example.com"
  asr: {name: local}
  tts: {name: local}
  vad: {name: energy}
"""


async def test_build_runtime_needs_only_credentials_and_the_assistant_block(tmp_path: Path):
    """No domain, no flows: the block selects the gateway and its language."""
    (tmp_path / "credentials.yml").write_text(
        CREDENTIALS.replace("asr: {name: local}", "asr: {name: deepgram}")
    )
    (tmp_path / "endpoints.yml").write_text(
        "assistant:\n  type: rasa\n  url: http://localhost:5006\n  language: de\n"
    )
    runtime = build_runtime(Paths(tmp_path), {"DEEPGRAM_API_KEY": "k"})
    try:
        assert isinstance(runtime.assistant, RasaAssistant)
        assert runtime.settings.language == "de"
        assert runtime.assistant.settings.url == "http://localhost:5006"
        assert not runtime.assistant.ssml_ok and not runtime.assistant.can_transfer
    finally:
        await runtime.close()


async def test_rasa_url_option_without_an_endpoints_file(tmp_path: Path):
    """``--rasa-url`` alone is enough; a bad URL is a ConfigError naming the option."""
    (tmp_path / "credentials.yml").write_text(
        CREDENTIALS.replace("tts: {name: local}", "tts: {name: azure}")
        + "  twilio_account_sid: AC1\n  twilio_auth_token: t0ken\n"
    )
    runtime = build_runtime(
        Paths(tmp_path), {"AZURE_SPEECH_API_KEY": "k"}, rasa_url="http://rasa:5005"
    )
    try:
        assert isinstance(runtime.assistant, RasaAssistant)
        assert runtime.assistant.ssml_ok and runtime.assistant.can_transfer
    finally:
        await runtime.close()
    with pytest.raises(ConfigError, match="--rasa-url"):
        build_runtime(Paths(tmp_path), {"AZURE_SPEECH_API_KEY": "k"}, rasa_url="rasa:5005")
