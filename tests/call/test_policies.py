"""Pure call policies: heard text, barge-in rules, DTMF collection, turn timing."""

from __future__ import annotations

from telephonist.call.dtmf import DtmfCollector
from telephonist.call.events import TurnLatency
from telephonist.call.heard import heard_text
from telephonist.call.interruptions import holds, is_backchannel, may_interrupt, spoken_words
from telephonist.call.turn_timing import TurnTiming
from telephonist.config.channel import InterruptionSettings
from telephonist.dialogue.turns import CollectDtmf


def test_heard_text_scales_with_played_audio():
    """Half the audio heard is half the words; an unfinished synthesis is estimated."""
    text = "one two three four five six"
    assert heard_text(text, 4800, 9600, complete=True) == "one two three"
    assert heard_text(text, 0, 9600, complete=True) == ""
    assert heard_text(text, 9600, 9600, complete=True) == text
    assert heard_text(text, 3200, 3200, complete=False) == "one"  # ~400 ms per word


def test_barge_in_policy():
    """Only interruptible audio that is playing; words gate it when min_words is set."""
    default = InterruptionSettings()
    assert may_interrupt(default, playing=True, interruptible=True, words=None)
    assert not may_interrupt(default, playing=False, interruptible=True, words=None)
    assert not may_interrupt(default, playing=True, interruptible=False, words=5)
    assert not may_interrupt(
        InterruptionSettings(enabled=False),
        playing=True,
        interruptible=True,
        words=5,
        keypress=True,
    )
    words = InterruptionSettings(min_words=3)
    assert not may_interrupt(words, playing=True, interruptible=True, words=None)
    assert not may_interrupt(words, playing=True, interruptible=True, words=2)
    assert may_interrupt(words, playing=True, interruptible=True, words=3)
    assert may_interrupt(words, playing=True, interruptible=True, words=None, keypress=True)


def test_a_barge_in_on_hold_is_decided_by_words_or_keys():
    """Sound without words is held when resume_after_ms is set; words and keys never are;
    while held, only words (min_words counted) or a key may decide."""
    default = InterruptionSettings()
    assert holds(default, trigger="speech", text=None)
    assert holds(default, trigger="asr_speech_started", text=None)
    assert not holds(default, trigger="final", text="stop")
    assert not holds(default, trigger="dtmf", text=None)
    assert not holds(InterruptionSettings(resume_after_ms=0), trigger="speech", text=None)
    assert not may_interrupt(default, playing=False, interruptible=True, words=None, held=True)
    assert may_interrupt(default, playing=False, interruptible=True, words=1, held=True)
    assert may_interrupt(
        default, playing=False, interruptible=True, words=None, keypress=True, held=True
    )
    two = InterruptionSettings(min_words=2)
    assert not may_interrupt(two, playing=True, interruptible=True, words=1, held=True)


def test_backchannels_are_runs_of_listed_words_whatever_the_spelling():
    """Case, punctuation, hyphens and noise tags do not matter; several entries in a row
    still are a backchannel; one other word makes it speech."""
    default = InterruptionSettings()
    assert spoken_words("Mm-hmm. [cough] (laughs) Yeah!") == ["mmhmm", "yeah"]
    assert spoken_words("MMMM, Hmmmm, sooo") == ["mm", "hmm", "soo"]
    for text in (
        "Mm-hmm.",
        "mhm",
        "Yeah, yeah.",
        "okay, all right",
        "Uh huh",
        "[cough]",
        "",
        "MMMM.",
    ):
        assert is_backchannel(default, text), text
    for text in ("no", "yeah but no", "all", "okay stop", "right away please"):
        assert not is_backchannel(default, text), text
    custom = InterruptionSettings(backchannels=("d'accord", "oui oui"))
    assert is_backchannel(custom, "D'accord, oui oui.")
    assert not is_backchannel(custom, "oui")


def test_dtmf_collector():
    """Length and finish key complete the input; the finish key itself is dropped."""
    by_length = DtmfCollector(CollectDtmf(length=3))
    assert [by_length.add(d) for d in "123"] == [None, None, "123"]
    by_key = DtmfCollector(CollectDtmf(finish_on_key="#"))
    assert [by_key.add(d) for d in "45#"] == [None, None, "45"]
    neither = DtmfCollector(CollectDtmf())
    assert neither.add("7") == "7"


def test_turn_timing_reports_each_utterance_once():
    """The latency record comes with the first audio after a final, then not again."""
    timing = TurnTiming(speech_end=9.5, final=10.0, assistant_done=10.01, tts_start=10.02)
    tts_ms, record = timing.first_audio(10.05)
    assert tts_ms == 30.0
    assert record == TurnLatency(
        speech_end_to_audio_ms=550.0,
        final_to_audio_ms=50.0,
        assistant_ms=10.0,
        tts_first_byte_ms=30.0,
    )
    assert timing.first_audio(10.5)[1] is None
