"""A recorded call over a real socket: the server's WAV against what the simulated caller
itself heard and said, the barge-in cut, and the transcript."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tests.fakes.scripted import ScriptedAssistant, spoken_length
from tests.recording.recorded import best_shift, loud, only_segment, runs, simulated, stereo

from telephonist.dialogue.turns import AssistantTurn, BotMessage, UserEvent, UserText
from telephonist.simulator.script import BargeInAfter, Dtmf, Say, Step, Wait

FRAME = 160


async def test_tracks_are_aligned_with_what_the_caller_heard(serve, tmp_path: Path):
    """Caller left and bot right match the simulator's own recording within two frames."""
    folder = tmp_path / "recordings"
    heard = tmp_path / "caller.wav"
    async with serve(transcripts=["check my order"], recording={"folder": str(folder)}) as served:
        report = await simulated(served, record_to=heard).run([Say("check my order")])
        await served.runtime.recordings.aclose()
    assert report.ok, report.outcome
    ours, _ = only_segment(folder)
    theirs = stereo(heard)
    assert abs(len(ours) - len(theirs)) <= 2 * FRAME
    shift, same = best_shift(ours[:, 0], theirs[:, 0], 4 * FRAME)
    assert shift == 0 and same > 0.999  # the caller's frames are the clock
    shift, same = best_shift(ours[:, 1], theirs[:, 1], 6 * FRAME)
    assert abs(shift) <= 2 * FRAME and same > 0.99, (shift, same)
    greeting = spoken_length(served.assistant.greeting)
    reply = spoken_length("You said check my order")
    assert abs(len(loud(ours[:, 1])) - len(loud(theirs[:, 1]))) <= 2 * FRAME
    assert len(loud(ours[:, 1])) > 0.9 * (greeting + reply)


async def test_barge_in_cut_and_transcript(serve, tmp_path: Path):
    """The greeting stops on the bot track where the clear cut it, as the caller heard it; the
    transcript has the turns, sources, masked keys, the interruption and the latency split."""
    folder = tmp_path / "recordings"
    heard = tmp_path / "caller.wav"
    greeting = " ".join(f"word{i}" for i in range(40))  # 8 s of audio
    async with serve(
        assistant=ScriptedAssistant(greeting=greeting),
        transcripts=["stop please"],
        recording={"folder": str(folder)},
    ) as served:
        steps: list[Step] = [BargeInAfter(0.5), Say("stop please"), Dtmf("42"), Wait(1.0)]
        report = await simulated(served, record_to=heard).run(steps)
        await served.runtime.recordings.aclose()
    assert report.ok, report.outcome
    ours, transcript = only_segment(folder)
    theirs = stereo(heard)
    our_bot, their_bot = runs(loud(ours[:, 1])), runs(loud(theirs[:, 1]))
    cut_greeting = our_bot[0]
    assert abs(cut_greeting[1] - their_bot[0][1]) <= 2 * FRAME  # cut where the caller's ended
    assert cut_greeting[1] - cut_greeting[0] < 4 * 8000  # far short of the 8 s greeting
    full_end = cut_greeting[0] + spoken_length(greeting)
    reply_start = our_bot[1][0]
    assert reply_start - cut_greeting[1] > 8000  # silent for a second after the cut...
    assert full_end > cut_greeting[1] + 8000  # ...where the greeting would have gone on
    assert abs(reply_start - their_bot[1][0]) <= 2 * FRAME

    turns = transcript["turns"]
    assert transcript["complete"] and transcript["end_reason"] == "caller hung up"
    assert transcript["call_sid"] == report.call_sid and transcript["from"] == "+15550100001"
    start = turns[0]
    assert start["event"] == "call_start" and start["bot"][0]["text"] == greeting
    interruption = start["bot"][0]["interrupted"]
    assert interruption["trigger"] == "speech"
    assert interruption["heard"] and greeting.startswith(interruption["heard"])
    assert interruption["heard"] != greeting
    assert abs(interruption["at_s"] - cut_greeting[1] / 8000) < 0.5
    spoken = next(t for t in turns if t["event"] == "caller")
    assert spoken["caller"] == {"text": "stop please", "source": "speech", "confidence": 0.9}
    assert spoken["bot"][0]["text"] == "You said stop please"
    latency = spoken["latency_ms"]
    assert set(latency) >= {"speech_end_to_audio", "final_to_audio", "assistant", "asr"}
    assert latency["speech_end_to_audio"] >= latency["final_to_audio"] >= 0
    keys = [t for t in turns if t["caller"] and t["caller"]["source"] == "dtmf"]
    assert [k["caller"] for k in keys] == [
        {"text": "*", "source": "dtmf", "confidence": None, "masked": True}
    ] * 2


def card_line(event: UserEvent) -> AssistantTurn | None:
    """Asks for a card number when the caller says "card"; the question is sensitive."""
    if isinstance(event, UserText) and event.text == "card":
        return AssistantTurn(messages=(BotMessage("Say your card number"),), sensitive=True)
    if isinstance(event, UserText) and event.text.startswith("4242"):
        return AssistantTurn(messages=(BotMessage("Thank you"),))
    return None


async def test_sensitive_question_pauses_the_recording(serve, tmp_path: Path):
    """From the sensitive question to the turn after the answer both tracks are silent in our
    recording (the caller's own has speech there), and the answer is not in the transcript."""
    folder = tmp_path / "recordings"
    heard = tmp_path / "caller.wav"
    async with serve(
        assistant=ScriptedAssistant(respond=card_line),
        transcripts=["card", "4242 4242 4242 4242"],
        recording={"folder": str(folder)},
    ) as served:
        report = await simulated(served, record_to=heard).run([Say("card"), Say("my number")])
        await served.runtime.recordings.aclose()
    assert report.ok, report.outcome
    ours, transcript = only_segment(folder)
    theirs = stereo(heard)
    [[paused_from, paused_to]] = transcript["paused"]
    a, b = int(paused_from * 8000), int(paused_to * 8000)
    assert b - a > 8000
    assert not np.any(ours[a:b] != 0)
    assert len(loud(theirs[a:b, 0])) > 4000 and len(loud(theirs[a:b, 1])) > 4000
    assert len(loud(ours[b:, 1])) > 0.9 * spoken_length("Thank you")  # recording again
    answer = [t for t in transcript["turns"] if t["caller"]][-1]
    assert answer["caller"] == {
        "text": "[sensitive]",
        "source": "speech",
        "confidence": 0.9,
        "masked": True,
    }
    # the card number as spoken (a bare "4242" can turn up in a random CallSid or a timestamp)
    assert all("4242 4242" not in p.read_text() for p in folder.glob("*/*.json"))
