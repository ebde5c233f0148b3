"""End to end over real sockets: a Twilio caller, a uvicorn server, scripted ASR/TTS/assistant,
and real recorded speech through the Silero VAD."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
from tests.audio_samples import load_prompt, silence
from tests.fakes.scripted import ScriptedAssistant, spoken_length

from telephonist.call.events import BargeIn, BotHungUp, EventKind
from telephonist.dialogue.turns import (
    AssistantTurn,
    BargedIn,
    BotMessage,
    SessionEnd,
    SessionStart,
    UserText,
)

SPEECH = "agent-pass"  # "Please enter your password followed by the pound key."


def assert_valid_mulaw(audio: bytes) -> None:
    """Bot audio is whole 20 ms frames, audible, and never padded with 0x00 clicks."""
    assert audio, "no audio"
    assert len(audio) % 160 == 0
    samples = np.frombuffer(audio, dtype=np.uint8)
    assert (samples != 0xFF).sum() > len(audio) // 2
    assert not (samples[-160:] == 0x00).any()


async def test_webhook_answers_twiml_with_call_parameters(serve):
    """The webhook's TwiML connects to our wss URL with the call's parameters and a token."""
    async with serve() as served:
        caller = served.caller(caller="+4930123", callee="+4940456")
        twiml = await caller.dial()
        root = ET.fromstring(twiml.xml)
        stream = root.find("./Connect/Stream")
        assert stream is not None
        port = served.base_url.rsplit(":", 1)[1]
        assert (
            stream.get("url") == f"wss://127.0.0.1:{port}/webhooks/twilio_media_streams/websocket"
        )
        params = twiml.parameters
        assert params["call_id"] == caller.call_sid
        assert params["user_phone"] == "+4930123"
        assert params["bot_phone"] == "+4940456"
        assert params["direction"] == "inbound"
        assert len(params["stream_token"]) > 20
        connect = root.find("./Connect")
        assert connect is not None and list(connect) == [stream]  # nothing after the stream


async def test_call_is_answered_end_to_end(serve):
    """Greeting plays, real speech reaches the assistant as text, the reply comes back."""
    async with serve(transcripts=["I would like to check my order"]) as served:
        caller = await served.connected_call()
        start = served.assistant.of_type(SessionStart)[0]
        assert start.metadata["call_id"] == caller.call_sid
        assert start.metadata["stream_id"] == caller.stream_sid
        assert start.metadata["user_phone"] == caller.caller
        assert "stream_token" not in start.metadata["custom_parameters"]
        greeting = bytes(caller.received_audio)
        assert_valid_mulaw(greeting)
        assert len(greeting) == spoken_length(served.assistant.greeting)
        await caller.play_all()

        await caller.send_audio(load_prompt(SPEECH).mulaw + silence(1.0))
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(UserText)))
        assert served.assistant.of_type(UserText) == [
            UserText("I would like to check my order", "speech", 0.9)
        ]
        reply = await served.wait_for_speech(caller, "You said I would like to check my order")
        assert_valid_mulaw(reply)
        assert len(caller.received_audio) == len(greeting) + len(reply)
        assert served.kinds(EventKind.LATENCY), "turn latency was measured"

        await caller.hang_up()
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(SessionEnd)))
        assert served.assistant.of_type(SessionEnd) == [SessionEnd("caller hung up")]
        assert served.asr.streams[0].closed


async def test_barge_in_clears_audio_and_records_what_was_heard(serve):
    """Caller speech over bot audio sends clear, stops synthesis, and once its words are
    recognised reports the heard part."""
    long_text = " ".join(f"word{i}" for i in range(40))  # 8 s of audio

    async with serve(
        assistant=ScriptedAssistant(greeting=long_text), transcripts=["stop please"]
    ) as served:
        caller = served.caller()
        await caller.dial()
        await caller.connect()
        # 2 s of audio and its four 500 ms marks in (a mark follows its audio, later under load)
        await caller.wait_until(
            lambda: len(caller.received_audio) >= 16000 and len(caller.events("mark")) >= 4
        )
        await caller.play(2000)  # the caller hears 2 s = 10 words
        await caller.send_audio(load_prompt(SPEECH).mulaw[:8000])
        await caller.wait_until(lambda: caller.clears == 1)
        await caller.send_audio(silence(1.0))  # the end of speech: the words "stop please"
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(BargedIn)))
        barged = served.assistant.of_type(BargedIn)[0]
        assert barged.full_text == long_text
        assert barged.heard_text.split() == long_text.split()[: len(barged.heard_text.split())]
        assert 8 <= len(barged.heard_text.split()) <= 12
        # Stream time from the VAD-dated onset to the clear: at least min_speech_ms (200), at
        # most the 1 s of speech sent (the frames arrive as a burst here, not in real time).
        event = served.kinds(BargeIn)[0]
        reaction = event.onset_to_clear_ms
        assert event.trigger == "speech" and reaction is not None and 200 <= reaction <= 1000
        import httpx

        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"{served.base_url}/metrics")).text
        assert "telephonist_barge_in_reaction_seconds_count 1.0" in metrics
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(UserText)))
        assert served.assistant.of_type(UserText)[0].text == "stop please"
        kinds = [e for _, e in served.assistant.events]
        assert kinds.index(barged) < kinds.index(served.assistant.of_type(UserText)[0])
        await caller.hang_up()


async def test_uninterruptible_message_is_not_cleared(serve):
    """A response with allow_interruptions false keeps playing over caller speech."""

    def respond(event):
        if isinstance(event, SessionStart):
            return AssistantTurn(
                messages=(BotMessage("legal notice " * 10, allow_interruptions=False),)
            )
        return None

    async with serve(assistant=ScriptedAssistant(respond=respond)) as served:
        caller = await served.connected_call()
        await caller.play(500)
        await caller.send_audio(load_prompt(SPEECH).mulaw + silence(0.7))
        await caller.play_all()
        await caller.wait_until(lambda: len(caller.events("mark")) >= 1)
        assert caller.clears == 0
        assert not served.kinds(EventKind.BARGE_IN)
        await caller.hang_up()


async def test_bot_hang_up_waits_for_goodbye_then_closes_stream(serve):
    """After "goodbye" the bot speaks, and only once its marks are echoed closes the socket."""
    async with serve(transcripts=["goodbye"]) as served:
        caller = await served.connected_call()
        await caller.play_all()
        await caller.send_audio(load_prompt(SPEECH).mulaw + silence(1.0))
        await served.wait_for_speech(caller, "Goodbye!")
        assert not caller.closed_by_server
        await caller.play_all()
        await caller.wait_until(lambda: caller.closed_by_server)
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(SessionEnd)))
        assert served.assistant.of_type(SessionEnd) == [SessionEnd("bot hung up")]
        assert [e.via for e in served.kinds(BotHungUp)] == ["socket"]


async def test_hang_up_with_nothing_pending_happens_at_once(serve):
    """A hang-up turn without audio ends the call immediately (Rasa's waits forever)."""

    def respond(event):
        if isinstance(event, UserText):
            return AssistantTurn(hang_up=True)
        return None

    async with serve(assistant=ScriptedAssistant(respond=respond), transcripts=["bye"]) as served:
        caller = await served.connected_call()
        await caller.play_all()
        await caller.send_audio(load_prompt(SPEECH).mulaw + silence(1.0))
        await caller.wait_until(lambda: caller.closed_by_server)
        assert served.assistant.of_type(SessionEnd) == [SessionEnd("bot hung up")]


async def test_metrics_count_calls_turns_and_rejections(serve):
    """/metrics reports active calls, ended calls, turn latency and rejected frames."""
    import httpx

    async with serve(transcripts=["hello"]) as served, httpx.AsyncClient() as http:
        caller = await served.connected_call()
        active = (await http.get(f"{served.base_url}/metrics")).text
        assert "telephonist_active_calls 1.0" in active
        await caller.play_all()
        await caller.send_text("garbage")
        await caller.send_audio(load_prompt(SPEECH).mulaw + silence(1.0))
        await served.wait_for_speech(caller, "You said hello")
        await caller.hang_up()
        await served.wait_event(EventKind.CALL_ENDED)
        text = (await http.get(f"{served.base_url}/metrics")).text
        assert "telephonist_active_calls 0.0" in text
        assert 'telephonist_calls_total{reason="caller hung up"} 1.0' in text
        assert "telephonist_turn_latency_seconds_count 1.0" in text
        assert 'telephonist_rejected_messages_total{reason="not JSON"} 1.0' in text
