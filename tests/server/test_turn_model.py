"""The end-of-turn model over real sockets: a Twilio caller, the uvicorn server, Silero on
recorded speech, and a scripted scorer. A mid-sentence pause judged incomplete is not the
end of the turn; without the model the same pause is."""

from __future__ import annotations

import asyncio

import numpy as np
from tests.audio_samples import load_prompt, silence
from tests.fakes.turn import ScriptedScorer

from telephonist.audio import mulaw
from telephonist.audio.formats import MULAW_BYTES_PER_MS
from telephonist.call.events import EventKind, SpeechEnded
from telephonist.call.judge import TurnDecided
from telephonist.dialogue.turns import UserText

SENTENCE = "agent-pass"  # "Please enter your password followed by the pound key."
PAUSE_S = 0.7


def halves(audio: bytes) -> tuple[bytes, bytes]:
    """The prompt cut at its quietest 20 ms in the middle third (a gap between words)."""
    pcm = np.abs(mulaw.decode(audio).astype(np.float32))
    frames = len(pcm) // 160
    energy = pcm[: frames * 160].reshape(frames, 160).mean(axis=1)
    cut = (frames // 3 + int(np.argmin(energy[frames // 3 : 2 * frames // 3]))) * 160
    return audio[:cut], audio[cut:]


async def speak_with_a_pause(served, caller, *, real_time: bool = False) -> float:
    """Send the sentence with a 700 ms pause in its middle, then silence long enough for the
    model's longest wait; returns where (ms into the caller's audio) the pause ends.
    ``real_time``: a frame every 20 ms, as Twilio sends them (a score must come back before
    the pause reaches vad.min_silence_ms, which a flood of frames would outrun)."""
    first, second = halves(load_prompt(SENTENCE).mulaw)
    sent_before = served.runtime.sessions[caller.call_sid]._listener.received_ms
    pace = (lambda: asyncio.sleep(0.02)) if real_time else None
    await caller.send_audio(first + silence(PAUSE_S) + second + silence(2.6), pace=pace)
    return sent_before + (len(first) / MULAW_BYTES_PER_MS) + PAUSE_S * 1000


async def test_an_incomplete_pause_does_not_end_the_turn(serve):
    """Scored incomplete, the pause goes by without an answer: the caller's speech on both
    sides of it is one turn, which ends (at max_wait_ms) after the sentence."""
    scorer = ScriptedScorer([0.1])
    async with serve(transcripts=["one", "two"], turn_scorer=scorer) as served:
        caller = await served.connected_call()
        await caller.play_all()
        pause_end = await speak_with_a_pause(served, caller, real_time=True)
        await served.wait_event(EventKind.SPEECH_ENDED)
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(UserText)))
        (ended,) = served.kinds(SpeechEnded)
        assert ended.offset_ms > pause_end, "the turn ended inside the pause"
        decided = [e.decision for e in served.kinds(TurnDecided)]
        assert decided[0] == "incomplete"  # the pause in the middle
        assert decided[-1] in ("max_wait", "late")  # the end: incomplete in time, or silence
        assert scorer.clips, "the pause was judged"
        await caller.hang_up()
    assert served.assistant.of_type(UserText) == [UserText("one", "speech", 0.9)]


async def test_without_the_model_the_pause_ends_the_turn(serve):
    """``turn: {model: none}``: the same 700 ms pause ends the turn (vad.min_silence_ms),
    and the bot answers inside it."""
    scorer = ScriptedScorer([0.1])
    async with serve(
        transcripts=["one", "two"], turn_scorer=scorer, turn={"model": "none"}
    ) as served:
        caller = await served.connected_call()
        await caller.play_all()
        pause_end = await speak_with_a_pause(served, caller)
        await served.wait_event(EventKind.SPEECH_ENDED, count=2)
        await served.assistant.wait_for(lambda: len(served.assistant.of_type(UserText)) == 2)
        first_end = served.kinds(SpeechEnded)[0].offset_ms
        assert first_end < pause_end - 500
        assert not scorer.clips and not served.kinds(TurnDecided)
        await caller.hang_up()
    assert [u.text for u in served.assistant.of_type(UserText)] == ["one", "two"]
