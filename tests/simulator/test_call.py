"""The simulator against our real server: auth dance, signatures, marks, clear, DTMF, recording.

Lines run 5x faster than real time (``speed``) or in hand-driven ticks (virtual time); the
server's own timers use a virtual clock, so nothing here depends on wall-clock pacing.
"""

from __future__ import annotations

import wave

import numpy as np
import pytest
from tests.audio_samples import load_prompt
from tests.fakes.bad_twilio_server import bad_twilio_app
from tests.fakes.http_app import ServedApp
from tests.fakes.scripted import ScriptedAssistant, spoken_length

from telephonist.call.events import EventKind, KeyPressed
from telephonist.dialogue.turns import UserText
from telephonist.simulator.caller import TwilioCaller
from telephonist.simulator.phone import Phone
from telephonist.simulator.runner import SimulatedCall
from telephonist.simulator.script import BargeInAfter, Dtmf, HangUp, Say, Wait

SPEED = 5.0


class PromptVoice:
    """Speaks a recorded prompt whatever the text (real speech for the server's VAD)."""

    async def speak(self, text: str) -> bytes:
        """The prompt's mu-law audio."""
        return load_prompt("agent-pass").mulaw


class LengthTranscriber:
    """'Transcribes' an utterance as its length in bytes, so tests can check the segmentation."""

    async def transcribe(self, mulaw: bytes) -> str | None:
        """The byte count, as text."""
        return str(len(mulaw))


def simulated(served, **kwargs) -> SimulatedCall:
    """A fast simulated call to ``served``."""
    caller = kwargs.pop("caller", None) or served.caller()
    return SimulatedCall(
        caller, voice=PromptVoice(), transcriber=LengthTranscriber(), speed=SPEED, **kwargs
    )


async def test_turn_is_timed_and_bot_audio_is_split_into_utterances(serve):
    """The greeting and the reply are separate utterances of exactly the audio sent."""
    async with serve(transcripts=["check my order"]) as served:
        lines: list[str] = []
        report = await simulated(served, echo=lines.append).run([Say("check my order")])
    assert report.ok, report.outcome
    assert report.outcome == "caller hung up"
    greeting, reply = report.utterances
    assert (greeting.turn, reply.turn) == (0, 1)
    assert greeting.text == str(spoken_length(served.assistant.greeting))
    assert reply.text == str(spoken_length("You said check my order"))
    assert not greeting.cleared and not reply.cleared
    turn = report.turns[1]
    assert turn.caller == "check my order"
    assert turn.ended_at is not None and turn.first_audio_at is not None
    assert turn.speech_ended_at is not None and turn.speech_ended_at <= turn.ended_at
    latency = turn.latency_from_speech_end_ms
    assert latency is not None and 0 < latency < 3000 and turn.bot_cut_in_at is None
    assert turn.started_at is not None and greeting.ended_at is not None
    assert turn.started_at >= greeting.ended_at  # a polite caller waits for the greeting
    assert any("caller: check my order" in line for line in lines)
    assert "turn latency: p50" in report.table()
    assert report.as_dict()["latency_from_speech_end_ms"]["n"] == 1


async def test_marks_are_echoed_only_when_playback_reaches_them(serve):
    """In hand-driven ticks, the server hears each mark after its audio has played, not before."""
    async with serve() as served:
        caller = served.caller()
        await caller.dial()
        phone = Phone(caller)
        await caller.connect()
        greeting = spoken_length(served.assistant.greeting)
        await caller.wait_until(
            lambda: (
                caller.playout.buffered_bytes >= greeting
                and len(caller.events("mark")) >= 1 + greeting // 4000
            )
        )
        sent_marks = len(caller.events("mark"))
        for _ in range(greeting // 160 - 1):
            await phone.tick()
        assert len(served.kinds(EventKind.MARK_PLAYED)) < sent_marks  # last frame not played
        await phone.tick()
        await served.wait_event(EventKind.MARK_PLAYED, sent_marks)
        assert len(served.kinds(EventKind.PLAYBACK_DONE)) == 1
        await phone.hang_up()


async def test_barge_in_gets_a_clear_and_cuts_the_utterance(serve):
    """Speaking 0.5 s into a long greeting brings a clear; the greeting is reported cut off."""
    long_text = " ".join(f"word{i}" for i in range(40))  # 8 s of audio

    async with serve(
        assistant=ScriptedAssistant(greeting=long_text), transcripts=["stop please"]
    ) as served:
        report = await simulated(served).run([BargeInAfter(0.5), Say("stop please")])
    assert report.ok, report.outcome
    greeting = report.utterances[0]
    assert greeting.cleared
    assert 500 <= greeting.heard_ms < 4000
    turn = report.turns[1]
    assert turn.over_bot and turn.barge_in_ms is not None and turn.barge_in_ms > 0
    assert "[cut off]" in report.bot_text(report.turns[0])


async def test_dtmf_keys_reach_the_assistant(serve):
    """Each key is one dtmf event at the server, in order."""
    async with serve() as served:
        report = await simulated(served).run([Dtmf("42#"), Wait(0.2), HangUp()])
        assert report.ok
        assert [e.digit for e in served.kinds(KeyPressed)] == ["4", "2", "#"]
    assert report.turns[1].caller == "dtmf 42#"


async def test_recording_is_a_stereo_wav_of_the_whole_call(serve, tmp_path):
    """The WAV lasts as long as the call; the bot is on the right from the first frames."""
    path = tmp_path / "call.wav"
    async with serve(transcripts=["hello"]) as served:
        report = await simulated(served, record_to=path).run([Say("hello")])
    assert report.recording == str(path)
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        frames = wav.getnframes()
        samples = np.frombuffer(wav.readframes(frames), dtype="<i2").reshape(-1, 2)
    assert frames / 8000 == pytest.approx(report.duration_s, abs=0.001)
    greeting = spoken_length(served.assistant.greeting)
    bot = np.flatnonzero(np.abs(samples[:, 1]) > 1000)
    caller = np.flatnonzero(np.abs(samples[:, 0]) > 1000)
    assert bot[0] < 8000  # the greeting starts within the first second
    assert caller[0] > bot[0] + greeting - 160  # the caller spoke after hearing all of it
    reply = bot[bot > caller[0]]
    assert len(reply) > 0 and reply[0] > caller[-1]  # the reply plays after the question


async def test_basic_auth_challenge_then_credentials(serve):
    """With user:pass@ the caller answers the 401 challenge; without, the call fails."""
    async with serve(username="ann", password="s3cret") as served:
        port = served.base_url.rsplit(":", 1)[1]
        good = served.caller(
            webhook_url=f"http://ann:s3cret@127.0.0.1:{port}/webhooks/twilio_media_streams/webhook"
        )
        assert (await simulated(served, caller=good).run([HangUp()])).ok
        refused = await simulated(served, caller=served.caller()).run([HangUp()])
    assert not refused.ok
    assert "HTTP 401" in refused.outcome


async def test_signatures_are_checked_by_the_server(serve):
    """The right auth token signs webhook and stream; a wrong one is refused."""
    async with serve(twilio_auth_token="tok-123") as served:
        assert (
            await simulated(served, caller=served.caller(auth_token="tok-123")).run([HangUp()])
        ).ok
        wrong = await simulated(served, caller=served.caller(auth_token="nope")).run([HangUp()])
    assert not wrong.ok
    assert "HTTP 403" in wrong.outcome


@pytest.mark.parametrize(
    ("path", "outcome"),
    [
        ("/text", "webhook answer is not XML"),
        ("/html", "TwiML has no <Response><Connect><Stream"),
        ("/drop", "the server closed the stream (code 1011) before the bot spoke"),
    ],
)
async def test_broken_servers_fail_the_call(path, outcome):
    """No TwiML, or a stream dropped before the bot spoke, is a failed call."""
    async with ServedApp(bad_twilio_app()) as app:
        caller = TwilioCaller(
            app.url + path, stream_url_override=app.url.replace("http", "ws") + "/stream"
        )
        report = await SimulatedCall(caller, speed=SPEED).run([Wait(0.1)])
    assert not report.ok
    assert outcome in report.outcome


async def test_refused_stream_fails_the_call(serve):
    """A stream upgrade the server refuses is a failed call."""
    async with serve() as served:
        caller = TwilioCaller(
            served.webhook,
            stream_url_override=served.base_url.replace("http", "ws")
            + "/webhooks/twilio_media_streams/nowhere",
        )
        report = await simulated(served, caller=caller).run([HangUp()])
    assert not report.ok
    assert "stream connection refused" in report.outcome


async def test_bot_hang_up_is_a_normal_end(serve):
    """The bot saying goodbye and closing the stream ends the call successfully."""
    async with serve(transcripts=["goodbye"]) as served:
        report = await simulated(served).run([Say("goodbye"), Wait(30)])
        assert served.assistant.of_type(UserText)[0].text == "goodbye"
    assert report.ok, report.outcome
    assert report.outcome == "bot hung up"
    assert report.duration_s < 20  # the call ended during the wait, not after it
    assert report.utterances[-1].text == str(spoken_length("Goodbye!"))
