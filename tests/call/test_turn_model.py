"""The end of the caller's turn with a turn model, in virtual time: a pause is judged by a
scripted scorer; complete ends the turn at once, incomplete waits (and speech continues the
same turn), and max_wait_ms ends it anyway. Synthetic audio through the energy VAD."""

from __future__ import annotations

import asyncio

from tests.call.harness import QUIET_FRAME, SPEECH_FRAME, Call, make_call
from tests.fakes.scripted import ScriptedASR
from tests.fakes.turn import ScriptedScorer

from telephonist.audio.formats import MULAW_BYTES_PER_MS
from telephonist.call.events import BargeInResumed, SpeechEnded, SpeechStarted
from telephonist.call.judge import TurnDecided
from telephonist.call.settings import CallSettings
from telephonist.call.state import CallState
from telephonist.config.turn import TurnSettings
from telephonist.dialogue.turns import BargedIn, UserText
from telephonist.speech.asr.base import ASRCapabilities, Final
from telephonist.turn.rule import PREROLL_MS


async def frames(call: Call, frame: bytes, ms: int) -> None:
    """``ms`` of audio, one 20 ms frame at a time, letting scores come back in between (as
    they do on a live call, where frames arrive 20 ms apart)."""
    for _ in range(ms // 20):
        await call.session.audio(frame)
        for _ in range(4):
            await asyncio.sleep(0)


async def listening(call: Call) -> None:
    """Open the call and let the greeting play out: the caller's turn."""
    await call.session.open()
    await call.heard_reply()
    assert call.session.state is CallState.LISTENING


AT_PAUSE = CallSettings(turn=TurnSettings(speculate_ms=None))
"""The model asked when the pause reaches pause_ms: tests of what follows a score, whose
scripted answers are one per pause."""


def said(call: Call) -> list[str]:
    """What reached the assistant as the caller's words."""
    return [event.text for event in call.assistant.of_type(UserText)]


def decisions(call: Call) -> list[tuple[str, float]]:
    """The turn model's decisions: (decision, pause_ms)."""
    return [(e.decision, e.pause_ms) for e in call.of_kind(TurnDecided)]


async def test_a_complete_turn_ends_after_the_short_pause() -> None:
    """Complete after 200 ms of pause: the caller's words go to the assistant then, dated at
    the end of their speech, with no need for the VAD's 500 ms. The model was asked after
    100 ms of it (turn.speculate_ms), its answer kept for the 200 ms."""
    scorer = ScriptedScorer([0.9])
    call = make_call(asr=ScriptedASR(["hello"]), turn_scorer=scorer)
    await listening(call)
    await frames(call, QUIET_FRAME, 1000)
    await frames(call, SPEECH_FRAME, 400)
    await frames(call, QUIET_FRAME, 200)
    await call.until(lambda: bool(said(call)))
    assert said(call) == ["hello"]
    assert decisions(call) == [("complete", 200.0)]
    (decided,) = call.of_kind(TurnDecided)
    assert decided.ended is True and decided.probability == 0.9
    assert decided.decision_ms == 1.5
    (ended,) = call.of_kind(SpeechEnded)
    assert ended.offset_ms == call.of_kind(SpeechStarted)[0].offset_ms + 400
    (clip,) = scorer.clips  # the turn with its pre-roll, up to the moment of asking
    assert len(clip) == (PREROLL_MS + 400 + 100) * MULAW_BYTES_PER_MS


async def test_an_early_complete_is_dropped_when_the_caller_goes_on() -> None:
    """The model, asked 100 ms into a 150 ms gap, says complete; the caller speaks on before
    200 ms, so nothing is decided there: one turn, ended at the next pause."""
    scorer = ScriptedScorer([0.9])
    call = make_call(asr=ScriptedASR(["a table for two"]), turn_scorer=scorer)
    await listening(call)
    await frames(call, SPEECH_FRAME, 400)
    await frames(call, QUIET_FRAME, 160)
    await frames(call, SPEECH_FRAME, 300)
    assert len(scorer.clips) == 1 and not decisions(call)
    await frames(call, QUIET_FRAME, 200)
    await call.until(lambda: bool(said(call)))
    assert said(call) == ["a table for two"]
    assert decisions(call) == [("complete", 200.0)]
    assert len(call.of_kind(SpeechEnded)) == 1


async def test_without_speculation_the_model_is_asked_at_the_pause() -> None:
    """turn.speculate_ms: null asks the model when the pause reaches pause_ms."""
    scorer = ScriptedScorer([0.9])
    settings = CallSettings(turn=TurnSettings(speculate_ms=None))
    call = make_call(asr=ScriptedASR(["hello"]), turn_scorer=scorer, settings=settings)
    await listening(call)
    await frames(call, QUIET_FRAME, 1000)
    await frames(call, SPEECH_FRAME, 400)
    await frames(call, QUIET_FRAME, 200)
    await call.until(lambda: bool(said(call)))
    assert decisions(call) == [("complete", 200.0)]
    (clip,) = scorer.clips
    assert len(clip) == (PREROLL_MS + 400 + 200) * MULAW_BYTES_PER_MS


async def test_without_a_model_the_same_pause_is_not_the_end() -> None:
    """model: none (or no scorer): the turn ends after vad.min_silence_ms as it always did."""
    scorer = ScriptedScorer([0.9])
    off = CallSettings(turn=TurnSettings(model="none"))
    call = make_call(asr=ScriptedASR(["hello"]), turn_scorer=scorer, settings=off)
    await listening(call)
    await frames(call, SPEECH_FRAME, 400)
    await frames(call, QUIET_FRAME, 480)
    assert said(call) == [] and not call.of_kind(SpeechEnded)
    await frames(call, QUIET_FRAME, 20)
    await call.until(lambda: bool(said(call)))
    assert said(call) == ["hello"]
    assert scorer.clips == [] and not call.of_kind(TurnDecided)


async def test_an_incomplete_turn_waits_and_is_scored_again() -> None:
    """Incomplete: no words go anywhere while the pause lasts; it is scored again as it
    grows, and a later complete ends the turn there."""
    scorer = ScriptedScorer([0.2, 0.3, 0.9])
    call = make_call(asr=ScriptedASR(["I'd like to book"]), turn_scorer=scorer, settings=AT_PAUSE)
    await listening(call)
    await frames(call, SPEECH_FRAME, 400)
    await frames(call, QUIET_FRAME, 700)
    assert said(call) == [] and call.session.state is CallState.LISTENING
    assert decisions(call) == [("incomplete", 200.0), ("incomplete", 500.0)]
    await frames(call, QUIET_FRAME, 100)
    await call.until(lambda: bool(said(call)))
    assert decisions(call)[-1] == ("complete", 800.0)
    assert said(call) == ["I'd like to book"]


async def test_the_pause_is_scored_again_after_rescore_ms() -> None:
    """``turn.rescore_ms`` sets when an incomplete pause is scored again."""
    scorer = ScriptedScorer([0.2, 0.9])
    settings = CallSettings(turn=TurnSettings(speculate_ms=None, rescore_ms=600))
    call = make_call(asr=ScriptedASR(["I'd like to book"]), turn_scorer=scorer, settings=settings)
    await listening(call)
    await frames(call, SPEECH_FRAME, 400)
    await frames(call, QUIET_FRAME, 700)
    assert said(call) == [] and decisions(call) == [("incomplete", 200.0)]
    await frames(call, QUIET_FRAME, 200)
    await call.until(lambda: bool(said(call)))
    assert decisions(call)[-1] == ("complete", 800.0)


async def test_speech_during_the_wait_continues_the_same_turn() -> None:
    """The caller resumes after an incomplete pause: one turn, one transcript, one start
    and one end of speech; the next pause is judged on the whole turn's audio."""
    scorer = ScriptedScorer([0.1, 0.9])
    asr = ScriptedASR(["I'd like to book a table", "never used"])
    call = make_call(asr=asr, turn_scorer=scorer, settings=AT_PAUSE)
    await listening(call)
    await frames(call, SPEECH_FRAME, 400)
    await frames(call, QUIET_FRAME, 300)
    await frames(call, SPEECH_FRAME, 300)
    await frames(call, QUIET_FRAME, 200)
    await call.until(lambda: bool(said(call)))
    assert said(call) == ["I'd like to book a table"]
    assert asr.transcripts == ["never used"]
    assert asr.streams[0].vad == [True, False]  # the recogniser's utterance was not cut
    assert len(call.of_kind(SpeechStarted)) == 1
    assert len(call.of_kind(SpeechEnded)) == 1
    assert [d for d, _ in decisions(call)] == ["incomplete", "complete"]
    assert len(scorer.clips[1]) == (400 + 300 + 300 + 200) * MULAW_BYTES_PER_MS  # all of it


async def test_the_longest_wait_ends_the_turn_anyway() -> None:
    """Judged incomplete all along: the turn ends when the pause reaches max_wait_ms."""
    scorer = ScriptedScorer([0.1])
    settings = CallSettings(turn=TurnSettings(max_wait_ms=1000))
    call = make_call(asr=ScriptedASR(["well"]), turn_scorer=scorer, settings=settings)
    await listening(call)
    await frames(call, SPEECH_FRAME, 400)
    await frames(call, QUIET_FRAME, 980)
    assert said(call) == []
    await frames(call, QUIET_FRAME, 20)
    await call.until(lambda: bool(said(call)))
    assert decisions(call)[-1] == ("max_wait", 1000.0)
    assert said(call) == ["well"]


async def test_without_a_score_silence_ends_the_turn() -> None:
    """No answer from the model (it failed or was too busy): the silence rule ends the turn
    after vad.min_silence_ms, as without a model."""
    call = make_call(asr=ScriptedASR(["hi"]), turn_scorer=ScriptedScorer([None]))
    await listening(call)
    await frames(call, SPEECH_FRAME, 400)
    await frames(call, QUIET_FRAME, 480)
    assert said(call) == []
    await frames(call, QUIET_FRAME, 20)
    await call.until(lambda: bool(said(call)))
    assert decisions(call) == [("error", 500.0)]


async def test_a_score_refused_for_the_cpu_budget_is_labelled_busy() -> None:
    """Over turn.max_cpu the model refuses at once: silence ends the turn as without a model,
    and the decision says ``busy``, not ``error`` (nothing failed)."""
    call = make_call(asr=ScriptedASR(["hi"]), turn_scorer=ScriptedScorer(["busy"]))
    await listening(call)
    await frames(call, SPEECH_FRAME, 400)
    await frames(call, QUIET_FRAME, 500)
    await call.until(lambda: bool(said(call)))
    assert decisions(call) == [("busy", 500.0)]


async def test_a_model_too_slow_to_answer_never_delays_the_turn() -> None:
    """No answer by vad.min_silence_ms of pause: the turn ends then, as without a model
    (a "late" decision), and the late answer changes nothing."""
    gate = asyncio.Event()
    scorer = ScriptedScorer([0.1], gate=gate)
    call = make_call(asr=ScriptedASR(["hi", "unused"]), turn_scorer=scorer)
    await listening(call)
    await frames(call, SPEECH_FRAME, 400)
    await frames(call, QUIET_FRAME, 480)
    assert said(call) == []
    await frames(call, QUIET_FRAME, 20)
    await call.until(lambda: bool(said(call)))
    assert decisions(call) == [("late", 500.0)]
    gate.set()
    await frames(call, QUIET_FRAME, 100)
    assert said(call) == ["hi"] and len(decisions(call)) == 1


async def test_a_final_during_the_wait_is_held_and_joined() -> None:
    """A recogniser that ends the utterance on its own mid-sentence (Deepgram's endpointer):
    its words wait for the turn's end and go together with the rest, in order, once."""
    scorer = ScriptedScorer([0.1, 0.9])
    asr = ScriptedASR(["a table for two"])
    call = make_call(asr=asr, turn_scorer=scorer, settings=AT_PAUSE)
    await listening(call)
    await frames(call, SPEECH_FRAME, 400)
    await frames(call, QUIET_FRAME, 200)
    asr.streams[0].inject(Final("I'd like to book", 0.8))
    await frames(call, QUIET_FRAME, 200)
    assert said(call) == []
    await frames(call, SPEECH_FRAME, 300)
    await frames(call, QUIET_FRAME, 200)
    await call.until(lambda: bool(said(call)))
    assert call.assistant.of_type(UserText) == [
        UserText("I'd like to book a table for two", "speech", 0.8)
    ]


async def test_an_engine_that_cuts_at_our_edges_is_waited_for_at_the_turns_end() -> None:
    """The local engine's final that came mid-turn (a very long utterance cut) does not
    make the turn's words complete: its answer to the end of the turn is joined to it."""
    asr = ScriptedASR(["part two"], capabilities=ASRCapabilities(cuts_at_vad_edges=True))
    scorer = ScriptedScorer([0.1, 0.9])
    call = make_call(asr=asr, turn_scorer=scorer, settings=AT_PAUSE)
    await listening(call)
    await frames(call, SPEECH_FRAME, 400)
    await frames(call, QUIET_FRAME, 200)
    asr.streams[0].inject(Final("part one", 0.9))
    await frames(call, QUIET_FRAME, 100)
    scorer.probabilities = [0.9]
    await frames(call, QUIET_FRAME, 200)
    await call.until(lambda: bool(said(call)))
    assert said(call) == ["part one part two"]


async def test_a_recogniser_that_hears_pauses_transcribes_from_the_first_one() -> None:
    """An engine that declares pause_ms (the local one) is told of the pause as soon as the
    model is asked, so its text can be ready when the turn ends; told again when speech
    resumes."""
    asr = ScriptedASR(["x"], capabilities=ASRCapabilities(pause_ms=200))
    call = make_call(asr=asr, turn_scorer=ScriptedScorer([0.1, 0.9]), settings=AT_PAUSE)
    await listening(call)
    await frames(call, SPEECH_FRAME, 400)
    await frames(call, QUIET_FRAME, 200)
    assert asr.streams[0].pauses == [True]
    await frames(call, SPEECH_FRAME, 200)
    assert asr.streams[0].pauses == [True, False]
    await frames(call, QUIET_FRAME, 200)
    await call.until(lambda: bool(said(call)))
    assert asr.streams[0].pauses == [True, False, True]


async def test_barge_in_over_the_bot_is_unchanged() -> None:
    """Sound over the greeting still stops it after min_speech_ms, on hold; sound over the
    bot is not judged by the model: it ends after vad.min_silence_ms, and with no words the
    bot resumes resume_after_ms after the sound ended, exactly as without a model."""
    scorer = ScriptedScorer([0.9])
    call = make_call(asr=ScriptedASR([]), turn_scorer=scorer)
    await call.session.open()
    await call.until(lambda: call.session.state is CallState.PLAYING)
    await call.hear(marks=1)
    await frames(call, SPEECH_FRAME, 180)
    assert "clear" not in call.transport.kinds()
    await frames(call, SPEECH_FRAME, 20)
    assert call.transport.kinds()[-1] == "clear"
    assert call.session.state is CallState.PAUSED
    await frames(call, SPEECH_FRAME, 100)
    await frames(call, QUIET_FRAME, 480)
    assert not call.of_kind(SpeechEnded)
    await frames(call, QUIET_FRAME, 20)  # the VAD's end of speech: the sound ended 0.5 s ago
    assert call.of_kind(SpeechEnded)
    await call.clock.advance(0.05)
    assert not call.of_kind(BargeInResumed)
    await call.clock.advance(0.1)  # resume_after_ms (600) after the sound ended
    assert call.of_kind(BargeInResumed)
    assert not call.assistant.of_type(BargedIn) and said(call) == []
    assert scorer.clips == [] and decisions(call) == []


async def test_speech_before_the_turns_words_are_known_continues_that_turn() -> None:
    """The turn ended (complete), but the local engine is still transcribing it when the
    caller speaks on: the turn is open again, its words wait, and one transcript of both
    parts goes to the assistant at the real end; nothing is answered in between."""
    asr = ScriptedASR([], capabilities=ASRCapabilities(cuts_at_vad_edges=True))
    scorer = ScriptedScorer([0.9, 0.9])
    call = make_call(asr=asr, turn_scorer=scorer, settings=AT_PAUSE)
    await listening(call)
    await frames(call, SPEECH_FRAME, 400)
    await frames(call, QUIET_FRAME, 300)
    assert decisions(call) == [("complete", 200.0)]
    stream = asr.streams[0]
    assert stream.vad == [True, False]  # the utterance went to be transcribed
    await frames(call, SPEECH_FRAME, 300)  # the caller goes on before its words are known
    assert stream.vad == [True, False, True]
    (continued,) = [e for e in call.of_kind(TurnDecided) if e.decision == "continued"]
    assert continued.ended is False and 300 <= continued.pause_ms <= 320
    stream.inject(Final("please enter your", 0.9))  # the first part's words, late
    await frames(call, SPEECH_FRAME, 100)
    assert said(call) == []
    await frames(call, QUIET_FRAME, 300)
    assert [d for d, _ in decisions(call)] == ["complete", "continued", "complete"]
    stream.inject(Final("password", 0.8))
    await call.until(lambda: bool(said(call)))
    assert call.assistant.of_type(UserText) == [
        UserText("please enter your password", "speech", 0.8)
    ]
    (first, second) = scorer.clips  # the second score heard the whole turn
    assert len(second) > len(first) + 400 * MULAW_BYTES_PER_MS


async def test_speech_after_the_turns_words_went_to_the_assistant_is_a_new_turn() -> None:
    """Once the words reached the assistant, speech is a turn of its own, as before."""
    asr = ScriptedASR(["first", "second"], capabilities=ASRCapabilities(cuts_at_vad_edges=True))
    call = make_call(asr=asr, turn_scorer=ScriptedScorer([0.9, 0.9]), settings=AT_PAUSE)
    await listening(call)
    await frames(call, SPEECH_FRAME, 400)
    await frames(call, QUIET_FRAME, 300)
    await call.until(lambda: said(call) == ["first"])
    await call.heard_reply()
    await frames(call, SPEECH_FRAME, 300)
    await frames(call, QUIET_FRAME, 300)
    await call.until(lambda: len(said(call)) == 2)
    assert said(call) == ["first", "second"]
    assert [d for d, _ in decisions(call)] == ["complete", "complete"]
