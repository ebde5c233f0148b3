"""`RasaAssistant` against a fake Rasa server over real HTTP: messages, metadata, the keypad
menu, silence, and a Rasa that is down, failing or slow."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tests.fakes.rasa_server import Answer, FakeRasa

from telephonist.dialogue.turns import (
    AssistantTurn,
    BargedIn,
    BotMessage,
    CollectDtmf,
    SessionEnd,
    SessionStart,
    Silence,
    UserText,
)
from telephonist.errors import ProviderError
from telephonist.gateway import GatewaySettings, RasaAssistant

CALL = "CA0001"
METADATA = {
    "call_id": CALL,
    "stream_id": "MZ0001",
    "account_sid": "AC0001",
    "user_phone": "+15550001",
    "bot_phone": "+15550002",
    "direction": "inbound",
    "custom_parameters": {"campaign": "spring"},
}
MENU = [
    {
        "text": "What would you like to do?",
        "buttons": [
            {"title": "Order status", "payload": "/check_order"},
            {"title": "Speak to a person", "payload": "/speak_to_person"},
        ],
    }
]


@asynccontextmanager
async def gateway(
    fake: FakeRasa, can_transfer: bool = True, **settings: Any
) -> AsyncIterator[tuple[RasaAssistant, list[tuple[str, ProviderError]]]]:
    """A `RasaAssistant` for ``fake`` and the failures it reported."""
    errors: list[tuple[str, ProviderError]] = []
    async with fake.running() as url:
        assistant = RasaAssistant(
            GatewaySettings(url=url, **settings),
            can_transfer=can_transfer,
            on_error=lambda cid, exc: errors.append((cid, exc)),
        )
        try:
            yield assistant, errors
        finally:
            await assistant.close()


async def test_call_start_and_end_carry_the_call_metadata():
    """start_message and end_message go to Rasa with call_id, phones, direction and the
    stream's custom parameters; the greeting is spoken."""
    fake = FakeRasa(answers={"/greet": [{"text": "Welcome."}]})
    async with gateway(fake, start_message="/greet") as (assistant, errors):
        turn = await assistant.handle(CALL, SessionStart(METADATA))
        await assistant.handle(CALL, SessionEnd("caller hung up"))
    assert turn == AssistantTurn(messages=(BotMessage("Welcome."),))
    assert fake.messages() == ["/greet", "/session_end"]
    start, end = fake.received
    assert start["sender"] == CALL
    assert start["metadata"] == {
        "call_id": CALL,
        "stream_id": "MZ0001",
        "user_phone": "+15550001",
        "bot_phone": "+15550002",
        "direction": "inbound",
        "custom_parameters": {"campaign": "spring"},
        "source": "call",
    }
    assert end["metadata"]["reason"] == "caller hung up"
    assert not errors


async def test_null_start_and_end_messages_send_nothing():
    """``start_message: null`` / ``end_message: null``: Rasa hears only the caller."""
    fake = FakeRasa(answers={"hi": [{"text": "Hello!"}]})
    async with gateway(fake, start_message=None, end_message=None) as (assistant, _):
        assert await assistant.handle(CALL, SessionStart(METADATA)) == AssistantTurn()
        await assistant.handle(CALL, UserText("hi", confidence=0.8))
        await assistant.handle(CALL, SessionEnd("caller hung up"))
    assert fake.messages() == ["hi"]
    assert fake.received[0]["metadata"]["source"] == "speech"
    assert fake.received[0]["metadata"]["confidence"] == 0.8


async def test_keys_and_spoken_titles_pick_buttons_and_other_keys_are_sent_as_digits():
    """Key 2 sends the second payload, saying a title sends its payload; other input is sent
    as it came, DTMF marked ``source: dtmf``."""
    fake = FakeRasa(answers={"/session_start": MENU})
    async with gateway(fake) as (assistant, _):
        await assistant.handle(CALL, SessionStart(METADATA))
        await assistant.handle(CALL, UserText("2", source="dtmf"))
        await assistant.handle(CALL, UserText("Order status.", source="speech"))
        await assistant.handle(CALL, UserText("1234", source="dtmf"))
    # the answer to /speak_to_person said nothing: the menu stays until one replaces it
    assert fake.messages() == ["/session_start", "/speak_to_person", "/check_order", "1234"]
    assert fake.received[1]["metadata"]["source"] == "dtmf"
    assert fake.received[1]["metadata"]["button"] == {
        "title": "Speak to a person",
        "key": "2",
        "heard": "2",
    }
    assert fake.received[3]["metadata"]["source"] == "dtmf"


async def test_a_barge_in_is_reported_with_the_next_message():
    """After a barge-in, the next message's metadata says what the caller heard, once."""
    fake = FakeRasa()
    async with gateway(fake) as (assistant, _):
        await assistant.handle(CALL, SessionStart(METADATA))
        turn = await assistant.handle(CALL, BargedIn("Your order", "Your order has shipped."))
        await assistant.handle(CALL, UserText("when"))
        await assistant.handle(CALL, UserText("thanks"))
    assert turn == AssistantTurn()
    assert fake.messages() == ["/session_start", "when", "thanks"]
    assert fake.received[1]["metadata"]["interrupted"] == {
        "heard": "Your order",
        "full": "Your order has shipped.",
    }
    assert "interrupted" not in fake.received[2]["metadata"]


async def test_silence_without_a_silence_message_repeats_asks_then_hangs_up():
    """The built-in behaviour: repeat the last message (and its collect), ask whether the
    caller is still there, then say goodbye and hang up. Rasa hears none of it."""
    question: Answer = [{"text": "Your PIN?"}, {"custom": {"collect_dtmf": {"length": 4}}}]
    fake = FakeRasa(answers={"/session_start": question})
    async with gateway(fake) as (assistant, _):
        await assistant.handle(CALL, SessionStart(METADATA))
        first = await assistant.handle(CALL, Silence(1))
        second = await assistant.handle(CALL, Silence(2))
        third = await assistant.handle(CALL, Silence(3))
    assert first.messages == (BotMessage("Your PIN?"),)
    assert first.collect_dtmf == CollectDtmf(length=4)
    assert second.messages == (BotMessage("Are you still there?"),)
    assert third.hang_up and "Goodbye" in third.messages[0].text
    assert fake.messages() == ["/session_start"]


async def test_a_silence_message_is_sent_to_rasa():
    """With ``silence_message`` set, Rasa decides (as Rasa Pro's ``/silence_timeout``)."""
    fake = FakeRasa(answers={"/silence_timeout": [{"text": "Still there?"}]})
    async with gateway(fake, silence_message="/silence_timeout") as (assistant, _):
        await assistant.handle(CALL, SessionStart(METADATA))
        turn = await assistant.handle(CALL, Silence(2))
    assert turn.messages == (BotMessage("Still there?"),)
    assert fake.received[-1]["metadata"]["silence"] == {"consecutive": 2}


async def test_a_down_rasa_gets_an_apology_and_an_error_report():
    """Nothing listening: the caller hears a short apology, the failure is reported."""
    async with FakeRasa().running() as url:
        pass  # the port is free again
    errors: list[tuple[str, ProviderError]] = []
    assistant = RasaAssistant(
        GatewaySettings(url=url), on_error=lambda cid, exc: errors.append((cid, exc))
    )
    try:
        turn = await assistant.handle(CALL, SessionStart(METADATA))
        ended = await assistant.handle(CALL, SessionEnd("caller hung up"))
    finally:
        await assistant.close()
    assert [m.text for m in turn.messages] == [assistant.settings.phrases.apology]
    assert ended == AssistantTurn()  # nobody to apologise to
    assert [(cid, exc.retryable) for cid, exc in errors] == [(CALL, True), (CALL, True)]
    assert "cannot reach" in str(errors[0][1])


async def test_a_failing_rasa_keeps_the_keypad_question_open():
    """A 500 answer: apology, and the collect of the last question still holds, still
    sensitive (recordings stay paused)."""
    question: Answer = [
        {"text": "Your PIN?"},
        {"custom": {"collect_dtmf": {"length": 4}, "sensitive": True}},
    ]
    fake = FakeRasa(answers={"/session_start": question})
    async with gateway(fake) as (assistant, errors):
        asked = await assistant.handle(CALL, SessionStart(METADATA))
        fake.status = 500
        turn = await assistant.handle(CALL, UserText("12", source="dtmf"))
    assert asked.sensitive
    assert turn.messages[0].text.startswith("Sorry")
    assert turn.collect_dtmf == CollectDtmf(length=4) and turn.sensitive
    assert "HTTP 500" in str(errors[0][1]) and errors[0][1].retryable


async def test_a_slow_answer_is_dropped_and_the_next_message_waits_its_turn(caplog):
    """Past the timeout the caller hears the apology; the late answer is logged, never
    spoken, and the next message reaches Rasa only after it (one request at a time)."""
    hold = asyncio.Event()
    fake = FakeRasa(answers={"slow": [{"text": "Late!"}], "next": [{"text": "On time."}]})
    async with gateway(fake, timeout=0.2) as (assistant, errors):
        await assistant.handle(CALL, SessionStart(METADATA))
        fake.hold = hold
        with caplog.at_level(logging.WARNING, logger="telephonist.gateway"):
            turn = await assistant.handle(CALL, UserText("slow"))
            assert turn.messages[0].text == assistant.settings.phrases.apology
            assert "no answer within 0.2 s" in str(errors[-1][1])
            following = asyncio.create_task(assistant.handle(CALL, UserText("next")))
            await fake.wait_for(lambda: fake.messages()[-1] == "slow")
            fake.hold = None
            hold.set()
            answer = await following
    assert answer.messages == (BotMessage("On time."),)
    assert fake.answered == ["/session_start", "slow", "next"]
    assert "gateway.late_answer_dropped conversation=CA0001" in caplog.text


async def test_the_token_is_sent_as_a_query_parameter_and_never_shown(caplog):
    """``?token=`` on every request; errors and logs never contain it."""
    secret = "s3cr3t-token"
    fake = FakeRasa(token=secret, status=503)
    async with gateway(fake, token=secret) as (assistant, errors):
        with caplog.at_level(logging.DEBUG):
            await assistant.handle(CALL, SessionStart(METADATA))
            assert await assistant.client.status() == {
                "model_file": "fake.tar.gz",
                "num_active_training_jobs": 0,
            }
    assert fake.tokens_seen == [secret]
    assert secret not in caplog.text
    assert secret not in str(errors[0][1]) and secret not in repr(assistant)
    assert errors[0][1].retryable  # a 503 is worth trying again later


async def test_payload_problems_are_logged_and_the_rest_is_spoken(caplog):
    """A malformed custom payload never breaks the turn."""
    fake = FakeRasa(answers={"hi": [{"text": "Hi."}, {"custom": {"collect_dtmf": 5}}]})
    async with gateway(fake) as (assistant, _):
        with caplog.at_level(logging.WARNING, logger="telephonist.gateway"):
            turn = await assistant.handle(CALL, UserText("hi"))
    assert turn == AssistantTurn(messages=(BotMessage("Hi."),))
    assert "gateway.payload_ignored" in caplog.text


async def test_the_tracker_is_watched_after_turns_for_the_inspector():
    """With a state watch, each turn is followed by Rasa's slots, latest intent and active
    form, fetched in the background."""
    tracker = {
        "sender_id": CALL,
        "slots": {"order_number": "1234", "requested_slot": "email", "unset": None},
        "latest_message": {"intent": {"name": "check_order", "confidence": 0.97}, "entities": []},
        "active_loop": {"name": "order_form"},
    }
    fake = FakeRasa(trackers={CALL: tracker})
    states: list[tuple[str, dict[str, Any]]] = []
    published = asyncio.Event()
    async with gateway(fake) as (assistant, _):

        def watched(cid: str, state: dict[str, Any]) -> None:
            states.append((cid, state))
            published.set()

        assistant.watch_state(watched)
        await assistant.handle(CALL, SessionStart(METADATA))
        await published.wait()
    assert states == [
        (
            CALL,
            {
                "source": "rasa",
                "flow_stack": [{"flow_id": "form order_form", "step_id": "email"}],
                "slots": {"order_number": "1234"},
                "latest_intent": {"name": "check_order", "confidence": 0.97},
                "entities": [],
            },
        )
    ]


async def test_an_unreadable_tracker_is_said_once_and_not_asked_again():
    """Without Rasa's HTTP API the state says so once, and the watch rests."""
    fake = FakeRasa(api=False)
    states: list[dict[str, Any]] = []
    published = asyncio.Event()
    async with gateway(fake) as (assistant, _):

        def watched(cid: str, state: dict[str, Any]) -> None:
            states.append(state)
            published.set()

        assistant.watch_state(watched)
        await assistant.handle(CALL, SessionStart(METADATA))
        await published.wait()
        await assistant.handle(CALL, UserText("hello"))
    assert len(states) == 1
    assert "HTTP 404 (start Rasa with --enable-api)" in states[0]["unavailable"]
    assert fake.tracker_requests == 1


async def test_a_transfer_without_credentials_is_told_and_reported():
    """No Twilio REST credentials: the caller hears why, the call goes on, an error says so."""
    answer: Answer = [{"text": "Connecting you."}, {"custom": {"transfer": "+15550100"}}]
    fake = FakeRasa(answers={"/speak_to_person": answer})
    async with gateway(fake, can_transfer=False) as (assistant, errors):
        turn = await assistant.handle(CALL, UserText("/speak_to_person", source="typed"))
    assert turn.transfer_to is None and not turn.hang_up
    assert [m.text for m in turn.messages] == [
        "Connecting you.",
        assistant.settings.phrases.no_transfer,
    ]
    assert [(cid, exc.retryable) for cid, exc in errors] == [(CALL, False)]
    assert "twilio_account_sid" in str(errors[0][1])
