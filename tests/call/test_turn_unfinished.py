"""Words that stop mid-sentence, on a call in virtual time: the model judged the pause
complete, but "Please enter your" waits for the caller to go on (``turn.unfinished_wait_ms``);
a caller who does gets one turn, one who does not is answered when the wait is over."""

from __future__ import annotations

from tests.call.harness import QUIET_FRAME, SPEECH_FRAME, Call, make_call
from tests.call.test_turn_model import AT_PAUSE, decisions, frames, listening, said
from tests.fakes.scripted import ScriptedASR
from tests.fakes.turn import ScriptedScorer

from telephonist.call.judge import TurnDecided
from telephonist.call.settings import CallSettings
from telephonist.config.turn import TurnSettings
from telephonist.dialogue.turns import UserText
from telephonist.speech.asr.base import ASRCapabilities, Final

LOCAL_LIKE = ASRCapabilities(cuts_at_vad_edges=True, punctuates=True)
"""An engine that answers each end of turn and ends every whole sentence with a stop."""


async def test_a_caller_who_goes_on_after_unfinished_words_gets_one_turn() -> None:
    """Complete by the model, but the words stop on "your": they wait; the caller speaks on
    within the wait, the turn continues, and the assistant hears the sentence once."""
    asr = ScriptedASR(["Please enter your", "password."], capabilities=LOCAL_LIKE)
    call = make_call(asr=asr, turn_scorer=ScriptedScorer([0.9, 0.9]), settings=AT_PAUSE)
    await listening(call)
    await frames(call, SPEECH_FRAME, 400)
    await frames(call, QUIET_FRAME, 700)  # a thinking pause, longer than the answer takes
    assert [d for d, _ in decisions(call)] == ["complete", "unfinished"]
    (unfinished,) = [e for e in call.of_kind(TurnDecided) if e.decision == "unfinished"]
    assert unfinished.ended is False and 200 <= unfinished.pause_ms <= 240
    assert said(call) == []
    await frames(call, SPEECH_FRAME, 300)
    await frames(call, QUIET_FRAME, 300)
    await call.until(lambda: bool(said(call)))
    assert [d for d, _ in decisions(call)] == ["complete", "unfinished", "continued", "complete"]
    assert call.assistant.of_type(UserText) == [
        UserText("Please enter your password.", "speech", 0.9)
    ]


async def test_a_stop_the_recogniser_doubted_waits_for_the_caller_too() -> None:
    """The recogniser wrote a stop after "Please enter your path" but gave it only 0.5: the
    words wait (``unfinished_below``); the caller goes on, the assistant hears one sentence."""
    first = Final("Please enter your path.", 0.8, sentence_end=0.5)
    rest = Final("word, followed by pound.", 0.9, sentence_end=0.4)  # read alone
    asr = ScriptedASR([first, rest], capabilities=LOCAL_LIKE)
    call = make_call(asr=asr, turn_scorer=ScriptedScorer([0.9, 0.9]), settings=AT_PAUSE)
    await listening(call)
    await frames(call, SPEECH_FRAME, 400)
    await frames(call, QUIET_FRAME, 700)
    assert [d for d, _ in decisions(call)] == ["complete", "unfinished"]
    assert said(call) == []
    await frames(call, SPEECH_FRAME, 300)
    await frames(call, QUIET_FRAME, 300)
    await call.until(lambda: bool(said(call)))
    assert said(call) == ["Please enter your path. word, followed by pound."]


async def said_after_speech(transcript: str, wait_ms: int) -> Call:
    """A call whose caller speaks 400 ms and is heard as ``transcript``, the model judging
    the pause complete, with ``unfinished_wait_ms`` of ``wait_ms``; ready to pause."""
    settings = CallSettings(turn=TurnSettings(speculate_ms=None, unfinished_wait_ms=wait_ms))
    asr = ScriptedASR([transcript], capabilities=LOCAL_LIKE)
    call = make_call(asr=asr, turn_scorer=ScriptedScorer([0.9]), settings=settings)
    await listening(call)
    await frames(call, SPEECH_FRAME, 400)
    return call


async def test_unfinished_words_go_when_the_wait_is_over() -> None:
    """The caller stays quiet: the words reach the assistant unfinished_wait_ms after the
    pause began, not before; a whole sentence would have gone at once."""
    call = await said_after_speech("I'd like to book a", 1000)
    await frames(call, QUIET_FRAME, 960)
    assert said(call) == []
    await frames(call, QUIET_FRAME, 60)
    await call.until(lambda: bool(said(call)))
    assert said(call) == ["I'd like to book a"]


async def test_with_the_cue_off_the_models_complete_decides() -> None:
    """``unfinished_wait_ms: 0``: the same words go as soon as the model said complete."""
    call = await said_after_speech("Please enter your", 0)
    await frames(call, QUIET_FRAME, 300)
    await call.until(lambda: bool(said(call)))
    assert said(call) == ["Please enter your"]
    assert [d for d, _ in decisions(call)] == ["complete"]
