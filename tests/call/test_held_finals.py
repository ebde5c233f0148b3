"""Held finals alone: words that come while a turn is open wait for its end, joined in order."""

from __future__ import annotations

from telephonist.call.held_finals import (
    ANSWER_WAIT_MS,
    QUIET_ANSWER_WAIT_MS,
    HeldFinals,
    Said,
)


def test_a_final_outside_any_turn_goes_at_once() -> None:
    """No turn open, nothing awaited: a final is a turn of its own; an empty one is none."""
    held = HeldFinals()
    assert held.final("hello", 0.9, turn_open=False) == Said("hello", 0.9)
    assert held.final("", 0.0, turn_open=False) is None


def test_finals_during_a_turn_are_joined_with_the_answer_to_its_end() -> None:
    """Two finals held mid-turn, then the recogniser's answer to the end of turn: one text,
    in order, with the weakest confidence."""
    held = HeldFinals()
    assert held.final("I'd like to book", 0.9, turn_open=True) is None
    assert held.final("a table", 0.7, turn_open=True) is None
    assert held.turn_ended(5000.0) is None
    assert held.awaiting
    assert held.final("for two", 0.8, turn_open=False) == Said(
        "I'd like to book a table for two", 0.7
    )
    assert not held.awaiting


def test_the_answer_belongs_to_the_ended_turn_even_if_a_new_one_opened() -> None:
    """The recogniser answers the old turn after the caller started a new one: its words
    go with the old turn, not into the new one."""
    held = HeldFinals()
    held.answers_each_turn = True
    held.turn_ended(1000.0)
    assert held.final("first turn", 0.9, turn_open=True) == Said("first turn", 0.9)
    assert held.final("second", 0.9, turn_open=True) is None


def test_a_reopened_turn_holds_the_answer_to_its_first_end_with_what_follows() -> None:
    """Speech came before the ended turn's answer: reopened, that answer is held and goes
    with the answer to the turn's real end; with nothing awaited there is nothing to reopen."""
    held = HeldFinals()
    held.answers_each_turn = True
    assert not held.reopen()
    assert held.turn_ended(1000.0) is None
    assert held.reopen() and not held.awaiting
    assert held.final("please enter your", 0.9, turn_open=True) is None
    assert held.due(1000.0 + ANSWER_WAIT_MS) == []  # open: no answer is awaited for it
    assert held.turn_ended(3000.0) is None
    assert held.final("password", 0.8, turn_open=False) == Said("please enter your password", 0.8)
    assert not held.reopen()


def test_words_from_the_final_pause_go_as_soon_as_the_turn_ends() -> None:
    """A cloud engine's final that came during the pause covers the whole turn: no wait."""
    held = HeldFinals()
    assert held.final("that's all", 0.9, turn_open=True, paused=True) is None
    assert held.turn_ended(3000.0) == Said("that's all", 0.9)
    assert not held.awaiting


def test_speech_after_the_held_words_waits_for_the_rest() -> None:
    """The caller spoke again after the held final: its words alone are not the turn."""
    held = HeldFinals()
    held.final("I'd like", 0.9, turn_open=True, paused=True)
    held.resumed()
    assert held.turn_ended(3000.0) is None and held.awaiting


def test_an_answer_that_does_not_come_releases_the_held_words() -> None:
    """A cloud engine with nothing left to say: the held words go after a short wait."""
    held = HeldFinals()
    held.final("I'd like", 0.9, turn_open=True)
    held.turn_ended(3000.0)
    assert held.due(3000.0 + QUIET_ANSWER_WAIT_MS - 20) == []
    assert held.due(3000.0 + QUIET_ANSWER_WAIT_MS) == [Said("I'd like", 0.9)]
    assert not held.awaiting


def test_an_engine_that_answers_every_turn_is_waited_for_longer() -> None:
    """The local engine always answers (a loaded machine is slow): the wait is longer, and
    an empty answer still releases the held words."""
    held = HeldFinals()
    held.answers_each_turn = True
    held.final("part one", 0.8, turn_open=True)
    held.turn_ended(0.0)
    assert held.due(QUIET_ANSWER_WAIT_MS * 2) == []
    assert held.final("", 0.0, turn_open=False) == Said("part one", 0.8)
    held.turn_ended(100.0)
    assert held.due(100.0 + ANSWER_WAIT_MS) == []  # nothing was held: nothing to release
    assert not held.awaiting


def test_words_that_came_after_the_last_speech_go_as_soon_as_the_turn_ends() -> None:
    """A cloud endpointer that fired in the pause before it could be judged: those words
    are the whole turn, so the end of turn does not wait for an answer to Finalize."""
    held = HeldFinals()
    held.final("that's all", 0.9, turn_open=True, at_ms=2030.0)
    assert held.turn_ended(2400.0, speech_end_ms=2000.0) == Said("that's all", 0.9)
    assert not held.awaiting


def test_words_from_before_the_last_speech_wait_for_the_rest() -> None:
    """Held words the caller spoke on after are not the whole turn."""
    held = HeldFinals()
    held.final("I'd like", 0.9, turn_open=True, at_ms=1000.0)
    assert held.turn_ended(2400.0, speech_end_ms=2000.0) is None and held.awaiting


def lingering_finals(wait_ms: float = 1500.0) -> HeldFinals:
    """Held finals of a local-like engine (answers each turn, punctuates), with the cue on."""
    held = HeldFinals(unfinished_wait_ms=wait_ms, unfinished_words=("your", "the"))
    held.answers_each_turn = held.punctuated = True
    return held


def test_words_that_stop_mid_sentence_linger_until_the_wait_since_the_pause() -> None:
    """The answer "Please enter your" came 500 ms into the pause: it lingers until 1500 ms
    after the pause began, then goes; a whole sentence goes at once."""
    held = lingering_finals()
    assert held.turn_ended(1200.0, speech_end_ms=1000.0) is None
    assert held.final("Please enter your", 0.9, turn_open=False, at_ms=1500.0) is None
    assert held.awaiting and held.lingered == 1 and held.lingering_from_ms == 1000.0
    assert held.due(2499.0) == []
    assert held.due(2500.0) == [Said("Please enter your", 0.9)]
    assert not held.awaiting
    held.turn_ended(4200.0, speech_end_ms=4000.0)
    assert held.final("Goodbye.", 0.9, turn_open=False, at_ms=4500.0) == Said("Goodbye.", 0.9)
    assert held.lingered == 1


def test_speech_while_words_linger_continues_their_turn() -> None:
    """The caller goes on: the lingering words are the reopened turn's, joined with the
    answer to its real end, which sounds whole and goes at once."""
    held = lingering_finals()
    held.turn_ended(1200.0, speech_end_ms=1000.0)
    assert held.final("Please enter your...", 0.9, turn_open=False, at_ms=1500.0) is None
    assert held.reopen() and not held.awaiting
    assert held.turn_ended(3200.0, speech_end_ms=3000.0) is None
    assert held.final("password.", 0.8, turn_open=False, at_ms=3500.0) == Said(
        "Please enter your... password.", 0.8
    )


def test_an_answer_after_the_wait_or_with_the_cue_off_goes_at_once() -> None:
    """Words that came after the wait was over, or with unfinished_wait_ms 0, do not wait."""
    held = lingering_finals()
    held.turn_ended(1200.0, speech_end_ms=1000.0)
    said = held.final("Please enter your", 0.9, turn_open=False, at_ms=2600.0)
    assert said == Said("Please enter your", 0.9)
    off = lingering_finals(wait_ms=0.0)
    off.turn_ended(1200.0, speech_end_ms=1000.0)
    assert off.final("Please enter your", 0.9, turn_open=False, at_ms=1500.0) is not None


def test_words_whose_sentence_end_is_doubted_linger_but_not_once_joined() -> None:
    """With ``unfinished_below``, a stop the recogniser was unsure of lingers like a missing
    one. The part after the caller went on was read alone ("PIN number." is an unsure
    sentence by itself): the joined words are not judged by its probability and go."""
    held = HeldFinals(unfinished_wait_ms=1500.0, unfinished_below=0.7)
    held.answers_each_turn = True
    held.turn_ended(1200.0, speech_end_ms=1000.0)
    doubted = held.final(
        "Please enter your path.", 0.8, turn_open=False, at_ms=1300.0, sentence_end=0.5
    )
    assert doubted is None and held.lingered == 1
    assert held.reopen()
    held.turn_ended(3200.0, speech_end_ms=3000.0)
    rest = held.final("PIN number now.", 0.9, turn_open=False, at_ms=3300.0, sentence_end=0.3)
    assert rest == Said("Please enter your path. PIN number now.", 0.8, None)
    off = HeldFinals(unfinished_wait_ms=1500.0)
    off.answers_each_turn = True
    off.turn_ended(1200.0, speech_end_ms=1000.0)
    said = off.final(
        "Please enter your path.", 0.8, turn_open=False, at_ms=1300.0, sentence_end=0.5
    )
    assert said == Said("Please enter your path.", 0.8, 0.5)


def test_a_cloud_engines_whole_turn_lingers_too_and_nothing_overtakes_it() -> None:
    """Words that covered the whole turn at its end linger when they stop mid-sentence; a
    final of a turn of its own that comes meanwhile goes after them, with them."""
    held = HeldFinals(unfinished_wait_ms=1500.0, unfinished_words=("the",))
    assert held.final("book the", 0.9, turn_open=True, paused=True, at_ms=1100.0) is None
    assert held.turn_ended(1200.0, speech_end_ms=1000.0) is None
    assert held.lingered == 1
    assert held.final("table", 0.7, turn_open=False, at_ms=1300.0) == Said("book the table", 0.7)
    assert not held.awaiting
