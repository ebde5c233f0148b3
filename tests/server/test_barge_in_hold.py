"""Barge-ins on hold over a real socket: recorded sound in which the recogniser finds no
words stops the bot, then the bot resumes its message; the Rasa gateway hears of a barge-in
only once words confirm it."""

from __future__ import annotations

import httpx
from tests.audio_samples import load_prompt, silence
from tests.fakes.rasa_server import FakeRasa
from tests.fakes.scripted import spoken_length, tone_audio
from tests.gateway.test_gateway_call import gateway_for
from tests.server.conftest import Served

from telephonist.call.events import BargeIn, EventKind
from telephonist.dialogue.turns import BargedIn, UserText
from telephonist.simulator.caller import TwilioCaller

SPEECH = "agent-pass"
"""A recorded prompt ("Please enter your mailbox number..."): sound the VAD hears as speech."""
LONG = " ".join(f"word{i}" for i in range(40))
"""8 s of bot audio."""


async def interrupt(served: Served, caller: TwilioCaller, ms: int) -> None:
    """After 1.5 s of the bot heard, ``ms`` of recorded speech and then a second of quiet;
    returns once the VAD has heard it end."""
    ended = len(served.kinds(EventKind.SPEECH_ENDED))
    await caller.wait_until(lambda: len(caller.received_audio) >= 16000)
    await caller.play(1500)
    await caller.send_audio(load_prompt(SPEECH).mulaw[: ms * 8])
    await caller.send_audio(silence(1.0))
    await served.wait_event(EventKind.SPEECH_ENDED, ended + 1)


async def test_sound_without_words_stops_the_bot_and_it_resumes(serve) -> None:
    """The clear goes out as for any barge-in (and counts in the reaction metric); with no
    words the assistant hears nothing, and once resume_after_ms has passed the caller gets
    the message again from its start (a tone has no pause to restart at) and hears it to the
    end."""
    async with serve(transcripts=[], interruptions={"resume_after_ms": 400}) as served:
        served.assistant.greeting = LONG
        caller = served.caller()
        await caller.dial()
        await caller.connect()
        await interrupt(served, caller, 400)
        await caller.wait_until(lambda: caller.clears == 1)
        (barge_in,) = served.kinds(BargeIn)
        assert barge_in.trigger == "speech" and barge_in.pending is True
        assert barge_in.onset_to_clear_ms is not None and barge_in.onset_to_clear_ms >= 200
        before = len(caller.received_audio)
        await served.clock.advance(0.5)
        await served.wait_event(EventKind.BARGE_IN_RESUMED)
        expected = spoken_length(LONG)
        await caller.wait_until(lambda: len(caller.received_audio) >= before + expected)
        tone = tone_audio(len(LONG.split()))  # the message, without its frame padding
        assert bytes(caller.received_audio[before : before + len(tone)]) == tone
        await caller.play_all()
        await served.wait_event(EventKind.PLAYBACK_DONE)
        assert not served.assistant.of_type(BargedIn) and not served.assistant.of_type(UserText)
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"{served.base_url}/metrics")).text
        assert 'telephonist_barge_ins_resumed_total{reason="no_words"} 1.0' in metrics
        assert "telephonist_barge_in_reaction_seconds_count 1.0" in metrics
        await caller.hang_up()


async def test_rasa_hears_of_a_barge_in_only_when_words_confirm_it(serve) -> None:
    """A wordless sound sends Rasa nothing; real words later are sent with ``interrupted``
    metadata saying what the caller had heard before that barge-in."""
    fake = FakeRasa(answers={"/greet": [{"text": LONG}]})
    async with (
        fake.running() as url,
        serve(transcripts=["", "I need help"]) as served,
    ):
        assistant = gateway_for(url, served.runtime.events, start_message="/greet")
        served.runtime.assistant = assistant
        caller = served.caller()
        await caller.dial()
        await caller.connect()
        await interrupt(served, caller, 400)
        await served.clock.advance(1.0)
        await served.wait_event(EventKind.BARGE_IN_RESUMED)
        await interrupt(served, caller, 1000)
        await fake.wait_for(lambda: "I need help" in fake.messages())
        await caller.hang_up()
        await fake.wait_for(lambda: "/session_end" in fake.messages())
        await assistant.close()
    assert fake.messages() == ["/greet", "I need help", "/session_end"]
    interrupted = fake.received[1]["metadata"]["interrupted"]
    assert interrupted["full"] == LONG and LONG.startswith(interrupted["heard"])
    assert interrupted["heard"]
    assert len(served.kinds(EventKind.BARGE_IN_CONFIRMED)) == 1
