"""Turn latency as the caller hears it, over real sockets in real time: from the caller's last
voiced frame, so the server's end-of-utterance pause is part of the figure."""

from __future__ import annotations

from tests.audio_samples import load_prompt, silence
from tests.fakes.scripted import ScriptedAssistant

from telephonist.simulator.runner import SimulatedCall
from telephonist.simulator.script import Say
from telephonist.simulator.voicing import last_voiced_frame


class ClipVoice:
    """Speaks one fixed clip whatever the text."""

    def __init__(self, audio: bytes) -> None:
        self.audio = audio

    async def speak(self, text: str) -> bytes:
        """The clip."""
        return self.audio


async def one_turn(serve, audio: bytes, transcripts: list[str], **channel):
    """A real-time call (so the server's pause is real time too): greeting, ``audio``."""
    assistant = ScriptedAssistant(greeting="Hi")
    async with serve(assistant=assistant, transcripts=transcripts, **channel) as served:
        call = SimulatedCall(served.caller(), voice=ClipVoice(audio), reply_timeout_s=5)
        report = await call.run([Say("the clip")])
    assert report.ok, report.outcome
    return report.turns[1]


async def test_latency_includes_the_servers_end_of_utterance_pause(serve):
    """With ``vad.min_silence_ms`` 500 the caller waits at least 500 ms from its last voiced
    frame, with 200 at least 200 ms, and the difference is the setting's: the clip's trailing
    second of silence does not hide the wait."""
    audio = load_prompt("hello").mulaw + silence(1.0)
    latency = {}
    for pause in (200, 500):
        turn = await one_turn(serve, audio, ["hello"], vad={"min_silence_ms": pause})
        assert turn.speech_ended_at is not None and turn.ended_at is not None
        assert turn.ended_at - turn.speech_ended_at >= 1.0  # the clip's silence came after
        latency[pause] = turn.latency_from_speech_end_ms
        assert latency[pause] is not None and pause <= latency[pause] < pause + 1500
    assert latency[500] - latency[200] >= 150


async def test_a_bot_answering_in_a_pause_is_reported_as_cutting_in(serve):
    """With ``min_silence_ms`` 200, an 800 ms pause mid-turn ends the utterance: the bot's
    answer is heard inside the pause, reported as a cut-in, and no latency is given."""
    first, second = load_prompt("hello").mulaw, load_prompt("vm-whichbox").mulaw
    last = last_voiced_frame(first)
    assert last is not None
    pause_start = (last + 1) * 0.02
    pause_end = len(first) / 8000 + 0.8
    audio = first + silence(0.8) + second
    turn = await one_turn(serve, audio, ["hello", "which box"], vad={"min_silence_ms": 200})
    assert turn.bot_cut_in_at is not None and turn.started_at is not None
    assert pause_start + 0.2 <= turn.bot_cut_in_at - turn.started_at <= pause_end + 0.5
    assert turn.latency_from_speech_end_ms is None
