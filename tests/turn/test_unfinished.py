"""The text cue: does a transcript stop mid-sentence?"""

from __future__ import annotations

import pytest

from telephonist.config.turn import UNFINISHED_WORDS
from telephonist.turn.unfinished import sounds_unfinished


@pytest.mark.parametrize(
    "text",
    [
        "Please enter your",
        "Please enter your...",
        "Something is\u2026",
        "Press 8 to f-",
        "I'd like to book a",
        "to decrease the audio volume from",
        "I want a table for two and",
        "Well, um",
        "Please enter your phone number,",
        'He said "and"',
    ],
)
def test_transcripts_that_stop_mid_sentence(text: str) -> None:
    """An ellipsis, a hyphen, a comma, or a last word a sentence does not end on."""
    assert sounds_unfinished(text, UNFINISHED_WORDS)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Please enter your password.",
        "A table for two",
        "Yes, I can",
        "Press star to cancel this",
        "What are you waiting for?",
        "Log in",
        "Thank you",
    ],
)
def test_whole_sentences_and_words_that_often_end_one(text: str) -> None:
    """Whole sentences, questions, and last words that often end a sentence are not cues."""
    assert not sounds_unfinished(text, UNFINISHED_WORDS)


def test_a_punctuating_recogniser_marks_a_cut_by_leaving_the_stop_off() -> None:
    """From a recogniser that ends each whole sentence with a stop, none means cut off;
    from one that does not, it means nothing."""
    assert sounds_unfinished("The conference cannot be", UNFINISHED_WORDS, punctuated=True)
    assert not sounds_unfinished("The conference cannot be.", UNFINISHED_WORDS, punctuated=True)
    assert not sounds_unfinished("The conference cannot be", UNFINISHED_WORDS)


def test_a_short_answer_without_a_stop_is_whole() -> None:
    """Whisper leaves the stop off many one- and two-word answers: from three words on, a
    missing stop means a cut; below, only the words and punctuation cues count."""
    for text in ("password", "Telephone number", "yes please"):
        assert not sounds_unfinished(text, UNFINISHED_WORDS, punctuated=True), text
    assert sounds_unfinished("Enter the number", UNFINISHED_WORDS, punctuated=True)
    assert sounds_unfinished("the", UNFINISHED_WORDS, punctuated=True)
    assert sounds_unfinished("password,", UNFINISHED_WORDS, punctuated=True)


def test_a_sentence_end_the_recogniser_doubts_marks_a_cut() -> None:
    """Words of three or more with a stop whose probability is below the bound sound cut
    off; at or above it, without a bound (0), with no probability, or under three words
    they do not; a question stays whole."""
    cut = "Please enter your path."
    assert sounds_unfinished(cut, (), sentence_end=0.5, sentence_end_below=0.7)
    assert not sounds_unfinished(cut, (), sentence_end=0.7, sentence_end_below=0.7)
    assert not sounds_unfinished(cut, (), sentence_end=0.5)
    assert not sounds_unfinished(cut, (), sentence_end=None, sentence_end_below=0.7)
    assert not sounds_unfinished("Password.", (), sentence_end=0.2, sentence_end_below=0.7)
    assert not sounds_unfinished("to leave a mess?", (), sentence_end=0.2, sentence_end_below=0.7)


def test_the_words_are_the_callers_language() -> None:
    """Another list for another language; an empty one leaves only the punctuation cues."""
    assert sounds_unfinished("Ich möchte einen Tisch für", ("für", "und"))
    assert not sounds_unfinished("Please enter your", ())
    assert sounds_unfinished("Please enter your...", ())
