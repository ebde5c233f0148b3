"""The end-of-turn rule alone: VAD edges and audio positions in, score requests and decisions
out, with scores a test chooses (no model, no clock, no event loop)."""

from __future__ import annotations

from telephonist.turn.rule import (
    PREROLL_MS,
    WINDOW_MS,
    Decision,
    EndOfTurn,
    Phase,
    ScoreRequest,
    TurnRule,
)

RULE = TurnRule(pause_ms=200, max_wait_ms=2000, threshold=0.5, rescore_ms=300)


def paused_turn(speech_from: float = 1000.0, pause_from: float = 2500.0) -> tuple[EndOfTurn, int]:
    """A rule whose caller spoke from ``speech_from`` and paused at ``pause_from``; the VAD
    reports the pause ``pause_ms`` later. Returns the rule and the ticket it asked under."""
    rule = EndOfTurn(RULE)
    assert rule.speech(speech_from) is True
    request = rule.pause(pause_from, pause_from + RULE.pause_ms)
    assert isinstance(request, ScoreRequest)
    return rule, request.ticket


def test_a_pause_asks_for_a_score_of_the_turn_so_far() -> None:
    """The score covers the turn from its first speech (with pre-roll) up to now."""
    rule = EndOfTurn(RULE)
    rule.speech(1000.0)
    request = rule.pause(2500.0, 2700.0)
    assert request == ScoreRequest(1, 1000.0 - PREROLL_MS, 2700.0)
    assert rule.phase is Phase.PAUSED
    assert rule.quiet_ms(2800.0) == 300.0


def test_the_score_covers_at_most_the_last_eight_seconds() -> None:
    """A long turn is scored on its end only."""
    rule = EndOfTurn(RULE)
    rule.speech(0.0)
    request = rule.pause(20_000.0, 20_200.0)
    assert isinstance(request, ScoreRequest)
    assert request.end_ms - request.start_ms == WINDOW_MS


def test_complete_ends_the_turn_at_the_start_of_the_pause() -> None:
    """A complete score ends the turn now, dated where the caller stopped."""
    rule, ticket = paused_turn()
    decision = rule.scored(ticket, 0.8, 2700.0)
    assert decision == Decision(True, "complete", 0.8, 2500.0, 200.0)
    assert not rule.open


def test_incomplete_waits_and_scores_again_as_the_pause_grows() -> None:
    """Incomplete keeps the turn open; after rescore_ms more of pause it is scored again,
    and a complete score then ends it."""
    rule, ticket = paused_turn()
    waiting = rule.scored(ticket, 0.2, 2700.0)
    assert waiting == Decision(False, "incomplete", 0.2, 2500.0, 200.0)
    assert rule.open and rule.phase is Phase.PAUSED
    assert rule.advance(2900.0) is None  # 200 ms since the last score: not yet
    again = rule.advance(3000.0)
    assert isinstance(again, ScoreRequest) and again.ticket == ticket + 1
    assert rule.advance(3400.0) is None  # a score is under way: no second one
    ended = rule.scored(again.ticket, 0.7, 3050.0)
    assert ended == Decision(True, "complete", 0.7, 2500.0, 550.0)


def test_the_longest_wait_ends_the_turn_whatever_the_model_said() -> None:
    """Incomplete for max_wait_ms of pause: the turn ends anyway."""
    rule, ticket = paused_turn()
    rule.scored(ticket, 0.1, 2700.0)
    position = 2700.0
    while True:
        position += 20.0
        step = rule.advance(position)
        if isinstance(step, ScoreRequest):
            rule.scored(step.ticket, 0.1, position)
        elif isinstance(step, Decision):
            break
    assert step == Decision(True, "max_wait", None, 2500.0, 2000.0)
    assert position == 2500.0 + RULE.max_wait_ms


def test_speech_during_the_wait_continues_the_same_turn() -> None:
    """Speech after an incomplete score is the same turn: no new turn, a stale score is
    ignored, and the next pause is judged with the whole turn's audio."""
    rule, ticket = paused_turn(speech_from=1000.0)
    rule.scored(ticket, 0.2, 2700.0)
    assert rule.speech(3100.0) is False  # continues the open turn
    assert rule.phase is Phase.SPEAKING and rule.quiet_ms(3200.0) == 0.0
    assert rule.advance(9000.0) is None  # no wait runs while the caller speaks
    request = rule.pause(4000.0, 4200.0)
    assert isinstance(request, ScoreRequest) and request.start_ms == 1000.0 - PREROLL_MS
    assert rule.scored(request.ticket, 0.9, 4200.0) == Decision(
        True, "complete", 0.9, 4000.0, 200.0
    )


def test_a_score_that_comes_after_the_caller_spoke_again_is_ignored() -> None:
    """The answer to a pause the caller has already ended decides nothing."""
    rule, ticket = paused_turn()
    rule.speech(2800.0)
    assert rule.scored(ticket, 0.99, 2900.0) is None
    assert rule.phase is Phase.SPEAKING


def test_without_a_score_silence_decides_the_pause() -> None:
    """No answer from the model: the turn ends once the pause lasts fallback_ms (the silence
    rule), neither at once nor only at max_wait_ms; speech before that resumes the turn."""
    rule, ticket = paused_turn(pause_from=2500.0)
    assert rule.scored(ticket, None, 2750.0) is None
    assert rule.advance(2980.0) is None
    assert rule.advance(3000.0) == Decision(True, "error", None, 2500.0, RULE.fallback_ms)
    rule, ticket = paused_turn(pause_from=2500.0)
    assert rule.scored(ticket, None, 3100.0) == Decision(True, "error", None, 2500.0, 600.0)
    rule, ticket = paused_turn(pause_from=2500.0)
    assert rule.scored(ticket, None, 2750.0, failure="busy") is None
    assert rule.advance(3000.0) == Decision(True, "busy", None, 2500.0, RULE.fallback_ms)
    rule, ticket = paused_turn(pause_from=2500.0)
    rule.scored(ticket, None, 2750.0)
    assert rule.speech(2900.0) is False
    request = rule.pause(3500.0, 3700.0)
    assert isinstance(request, ScoreRequest)  # the next pause is scored again


def test_a_score_that_comes_too_late_leaves_the_pause_to_silence() -> None:
    """No answer by fallback_ms of pause: the turn ends then ("late"), as without a model;
    the answer, when it comes, decides nothing."""
    rule, ticket = paused_turn(pause_from=2500.0)
    assert rule.advance(2980.0) is None
    assert rule.advance(3000.0) == Decision(True, "late", None, 2500.0, 500.0)
    assert rule.scored(ticket, 0.1, 3100.0) is None
    assert not rule.open


def test_once_judged_incomplete_only_the_longest_wait_ends_the_pause() -> None:
    """After an "incomplete", a slow or failed re-score does not end the turn at
    fallback_ms: the model said the caller is not done."""
    rule, ticket = paused_turn(pause_from=2500.0)
    rule.scored(ticket, 0.1, 2700.0)
    again = rule.advance(3000.0)
    assert isinstance(again, ScoreRequest)
    assert rule.advance(3400.0) is None  # the re-score is slow: still waiting
    assert rule.scored(again.ticket, None, 3450.0) is None  # and it failed
    assert rule.advance(4480.0) is None  # no more scores; silence alone until max_wait
    step = rule.advance(4500.0)
    assert step == Decision(True, "max_wait", None, 2500.0, 2000.0)


def test_a_pause_not_to_be_judged_is_decided_by_silence() -> None:
    """``judge=False`` (sound over the bot): no score is asked; the turn ends after
    fallback_ms of pause, with reason "silence"."""
    rule = EndOfTurn(RULE)
    rule.speech(0.0)
    assert rule.pause(1000.0, 1200.0, judge=False) is None
    assert rule.advance(1480.0) is None
    assert rule.advance(1500.0) == Decision(True, "silence", None, 1000.0, 500.0)


def test_the_threshold_decides() -> None:
    """Complete means a probability at or above the threshold."""
    strict = EndOfTurn(TurnRule(threshold=0.8))
    strict.speech(0.0)
    request = strict.pause(1000.0, 1200.0)
    assert isinstance(request, ScoreRequest)
    decision = strict.scored(request.ticket, 0.7, 1200.0)
    assert decision is not None and not decision.ended


def test_a_new_turn_after_one_ended() -> None:
    """Speech after a turn ended opens a new one, scored from its own start."""
    rule, ticket = paused_turn(speech_from=1000.0)
    rule.scored(ticket, 0.9, 2700.0)
    assert rule.speech(5000.0) is True
    request = rule.pause(6000.0, 6200.0)
    assert isinstance(request, ScoreRequest) and request.start_ms == 5000.0 - PREROLL_MS


EARLY = TurnRule(pause_ms=200, max_wait_ms=2000, threshold=0.5, speculate_ms=100)


def test_an_early_score_decides_when_the_pause_reaches_pause_ms_not_before() -> None:
    """With speculate_ms, the score is asked for after 100 ms of quiet; its answer, back
    before 200 ms, waits, and the pause's report at 200 ms decides at once with it."""
    rule = EndOfTurn(EARLY)
    rule.speech(1000.0)
    assert not rule.early_due(2500.0, 2580.0)  # 80 ms of quiet: too soon
    early = rule.quiet(2500.0, 2600.0)
    assert early == ScoreRequest(1, 1000.0 - PREROLL_MS, 2600.0)
    assert rule.quiet(2500.0, 2632.0) is None  # once per quiet stretch
    assert rule.scored(early.ticket, 0.8, 2660.0) is None  # not yet: 160 ms of quiet
    assert rule.phase is Phase.SPEAKING
    assert rule.pause(2500.0, 2700.0) == Decision(True, "complete", 0.8, 2500.0, 200.0)


def test_an_early_score_still_under_way_is_the_pauses_score() -> None:
    """At pause_ms the early score, not yet back, is taken up: no second request; its
    answer then decides as a score asked at the pause would."""
    rule = EndOfTurn(EARLY)
    rule.speech(1000.0)
    early = rule.quiet(2500.0, 2600.0)
    assert early is not None
    assert rule.pause(2500.0, 2700.0) is None
    assert rule.scored(early.ticket, 0.2, 2720.0) == Decision(
        False, "incomplete", 0.2, 2500.0, 220.0
    )
    assert rule.advance(2980.0) is None  # scored again rescore_ms after the pause's report
    assert rule.advance(3000.0) == ScoreRequest(2, 1000.0 - PREROLL_MS, 3000.0)


def test_speech_before_pause_ms_drops_the_early_score() -> None:
    """The caller speaks again 150 ms into the quiet: the early answer is stale, and the
    next quiet stretch is scored afresh."""
    rule = EndOfTurn(EARLY)
    rule.speech(1000.0)
    early = rule.quiet(2500.0, 2600.0)
    assert early is not None
    assert rule.speech(2650.0) is False  # the same turn goes on
    assert rule.scored(early.ticket, 0.9, 2660.0) is None
    again = rule.quiet(3000.0, 3100.0)
    assert again is not None and again.ticket == 2
    request = rule.pause(3000.0, 3200.0)
    assert request is None  # the second early score is the pause's
    assert rule.scored(early.ticket, 0.9, 3210.0) is None  # the first stays stale
    assert rule.scored(again.ticket, 0.9, 3220.0) == Decision(True, "complete", 0.9, 3000.0, 220.0)


def test_an_early_incomplete_is_not_taken_the_pause_is_scored_again() -> None:
    """Only an early "complete" decides: an early "incomplete" (the model heard only 100 ms
    of the pause) leaves the pause to a score asked at pause_ms, as without speculation."""
    rule = EndOfTurn(EARLY)
    rule.speech(1000.0)
    early = rule.quiet(2500.0, 2600.0)
    assert early is not None
    assert rule.scored(early.ticket, 0.3, 2660.0) is None
    request = rule.pause(2500.0, 2700.0)
    assert request == ScoreRequest(2, 1000.0 - PREROLL_MS, 2700.0)
    assert rule.scored(2, 0.7, 2760.0) == Decision(True, "complete", 0.7, 2500.0, 260.0)


def test_an_early_score_for_another_stretch_is_not_used() -> None:
    """A voiced blip restarted the quiet without a speech edge: the early answer belongs to
    the earlier stretch, so the pause asks again."""
    rule = EndOfTurn(EARLY)
    rule.speech(1000.0)
    early = rule.quiet(2500.0, 2600.0)
    assert early is not None
    rule.scored(early.ticket, 0.9, 2620.0)
    request = rule.pause(2700.0, 2900.0)
    assert isinstance(request, ScoreRequest) and request.ticket == 2


def test_a_pause_not_to_be_judged_drops_the_early_score() -> None:
    """Over the bot's speech a pause is left to silence, early score or not."""
    rule = EndOfTurn(EARLY)
    rule.speech(1000.0)
    early = rule.quiet(2500.0, 2600.0)
    assert early is not None
    rule.scored(early.ticket, 0.9, 2620.0)
    assert rule.pause(2500.0, 2700.0, judge=False) is None
    assert rule.advance(3000.0) == Decision(True, "silence", None, 2500.0, 500.0)
