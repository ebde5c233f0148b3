"""When the caller's turn ends: a short pause, then a model's judgement of the words so far.

A pause alone is a poor end of turn: people pause mid-sentence ("I'd like to book… a table")
and a long fixed hangover makes every answer late. The rule here:

1. The VAD hears the caller pause (``pause_ms`` of quiet, 200 by default): the turn model
   scores the turn's audio so far (`ScoreRequest`).
2. Complete (probability >= ``threshold``): the turn ends now, dated at the start of the pause.
3. Incomplete: keep listening. While the pause grows the audio is scored again every
   ``rescore_ms``; once the pause reaches ``max_wait_ms`` the turn ends whatever the model said.
4. Speech during the wait continues the same turn (one turn, not two); its next pause is
   judged afresh.
5. With ``speculate_ms`` (less than ``pause_ms``), the score is asked for as soon as the
   caller has been quiet that long, and its answer waits for the pause to reach ``pause_ms``:
   the model's tens of milliseconds then pass within the pause instead of after it. Speech
   before ``pause_ms`` drops it; an early "incomplete" (or no score) is not taken: the pause
   is scored again at ``pause_ms``, as without speculation.
6. Until the model has said "incomplete", the silence rule still holds: a pause that lasts
   ``fallback_ms`` (``vad.min_silence_ms``) ends the turn, as without a model. So the model
   can end a turn sooner, and keep it open only when it answered in time; a late score
   (``late``), a refused one (``busy``: the model's CPU budget is spent), a failed one
   (``error``) or a pause not to be judged (``silence``) leaves the turn to silence, never
   later than without a model.

Sans-I/O and clock-free: every time is a position in the caller's audio in milliseconds (the
VAD's), fed in by the caller of this object, which runs the scoring and hands the
probability back with the ticket it was asked under. A stale answer (the caller spoke again
meanwhile) is ignored.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Decision", "EndOfTurn", "Phase", "ScoreRequest", "TurnRule"]

PREROLL_MS = 500.0
"""Audio before the turn's first speech that is scored with it (the model saw such lead-in)."""
WINDOW_MS = 8000.0
"""The model hears at most the last 8 s."""


@dataclass(frozen=True, slots=True)
class TurnRule:
    """The rule's settings (``turn:`` in the channel block)."""

    pause_ms: float = 200.0
    max_wait_ms: float = 2000.0
    threshold: float = 0.5
    rescore_ms: float = 300.0
    """While incomplete, score again after this much more pause."""
    fallback_ms: float = 500.0
    """The silence rule's pause (``vad.min_silence_ms``), for a pause the model cannot
    score."""
    speculate_ms: float | None = None
    """Score from this much quiet (below ``pause_ms``); None: from ``pause_ms``."""


class Phase(enum.Enum):
    """Where the caller's turn is."""

    IDLE = "idle"
    """No turn open: the caller has not spoken since the last turn ended."""
    SPEAKING = "speaking"
    PAUSED = "paused"
    """Quiet for at least ``pause_ms`` within the turn: being judged."""


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    """Score the caller's audio from ``start_ms`` to ``end_ms``; answer with ``ticket``."""

    ticket: int
    start_ms: float
    end_ms: float


@dataclass(slots=True)
class _Early:
    """A score asked for before the pause reached ``pause_ms``, and its answer once come."""

    ticket: int
    offset_ms: float
    """Where the quiet began."""
    done: bool = False
    probability: float | None = None


_SAME_MS = 1.0
"""Two quiet stretches starting this close are the same one (positions are whole windows)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The rule decided. ``ended``: the turn is over (``reason`` complete, max_wait or
    error); otherwise the model judged it incomplete and the rule waits."""

    ended: bool
    reason: str
    probability: float | None
    pause_from_ms: float
    """Where the pause began (the end of the caller's speech, if the turn ended)."""
    pause_ms: float
    """How long the pause had lasted when this was decided."""


class EndOfTurn:
    """The end-of-turn rule for one call."""

    def __init__(self, rule: TurnRule) -> None:
        self.rule = rule
        self.phase = Phase.IDLE
        self.turn_start_ms = 0.0
        self.pause_from_ms = 0.0
        self._ticket = 0
        self._asking: int | None = None
        """The ticket of the score being computed, if any."""
        self._asked_at = 0.0
        self._unscored: str | None = None
        """Why this pause is not scored (``busy``, ``error``, ``silence``): the silence rule
        decides."""
        self._judged = False
        """The model said "incomplete" for this pause: only ``max_wait_ms`` ends it now."""
        self._early: _Early | None = None
        """A score asked for before the pause reached ``pause_ms`` (``speculate_ms``)."""

    @property
    def open(self) -> bool:
        """A turn is in progress (speaking, or paused and being judged)."""
        return self.phase is not Phase.IDLE

    def quiet_ms(self, position_ms: float) -> float:
        """How long the caller has been quiet within the open turn (0 while speaking)."""
        return position_ms - self.pause_from_ms if self.phase is Phase.PAUSED else 0.0

    def speech(self, offset_ms: float) -> bool:
        """The VAD heard speech begin at ``offset_ms``; True when it opens a new turn, False
        when it continues the open one (a score under way is then stale)."""
        fresh = self.phase is Phase.IDLE
        if fresh:
            self.turn_start_ms = offset_ms
        self.phase = Phase.SPEAKING
        self._asking = None
        self._unscored = None
        self._judged = False
        self._early = None
        return fresh

    def early_due(self, offset_ms: float, position_ms: float) -> bool:
        """Is a speculative score due for quiet since ``offset_ms`` within speech? (Once per
        quiet stretch, and one at a time.)"""
        early, speculate = self._early, self.rule.speculate_ms
        return (
            self.phase is Phase.SPEAKING
            and speculate is not None
            and position_ms - offset_ms >= speculate
            and (early is None or (early.done and abs(early.offset_ms - offset_ms) >= _SAME_MS))
        )

    def quiet(self, offset_ms: float, position_ms: float) -> ScoreRequest | None:
        """The caller has been quiet since ``offset_ms``, not yet ``pause_ms``: with
        ``speculate_ms``, the score to ask for now, if one is due."""
        if not self.early_due(offset_ms, position_ms):
            return None
        request = self._ask(position_ms)
        self._asking = None  # only pause() makes it the pause's score
        self._early = _Early(request.ticket, offset_ms)
        return request

    def pause(
        self, offset_ms: float, position_ms: float, *, judge: bool = True
    ) -> ScoreRequest | Decision | None:
        """The VAD heard ``pause_ms`` of quiet that began at ``offset_ms``: ask for a score
        (``judge`` False: let silence decide this pause), or take up the one asked for early
        in this pause: under way, or answered (then the decision, at once)."""
        if self.phase is not Phase.SPEAKING:
            return None
        early, self._early = self._early, None
        self.phase = Phase.PAUSED
        self.pause_from_ms = offset_ms
        if not judge:
            self._unscored = "silence"
            return None
        if early is None or abs(early.offset_ms - offset_ms) >= _SAME_MS:
            return self._ask(position_ms)
        if not early.done:  # under way: it is this pause's score
            self._asking, self._asked_at = early.ticket, position_ms
            return None
        if early.probability is None or early.probability < self.rule.threshold:
            return self._ask(position_ms)  # only an early "complete" is taken as it is
        self._asking = early.ticket
        return self.scored(early.ticket, early.probability, position_ms)

    def advance(self, position_ms: float) -> Decision | ScoreRequest | None:
        """The caller's audio reached ``position_ms``: the turn ends if the pause has lasted
        ``max_wait_ms``, or ``fallback_ms`` with no "incomplete" yet; an incomplete turn is
        scored again every ``rescore_ms``."""
        if self.phase is not Phase.PAUSED:
            return None
        quiet = self.quiet_ms(position_ms)
        if quiet >= self.rule.max_wait_ms:
            return self._end("max_wait", None, position_ms)
        if not self._judged and quiet >= self.rule.fallback_ms:
            return self._end(self._unscored or "late", None, position_ms)
        if self._unscored is not None:
            return None
        if self._asking is None and position_ms - self._asked_at >= self.rule.rescore_ms:
            return self._ask(position_ms)
        return None

    def scored(
        self,
        ticket: int,
        probability: float | None,
        position_ms: float,
        *,
        failure: str = "error",
    ) -> Decision | None:
        """The score asked for under ``ticket`` (None: there is none, for the reason
        ``failure`` names, ``error`` or ``busy``, and the silence rule decides this pause);
        None when there is no decision (yet)."""
        early = self._early
        if early is not None and ticket == early.ticket and self.phase is Phase.SPEAKING:
            early.done, early.probability = True, probability
            return None  # kept for the pause, if it reaches pause_ms
        if ticket != self._asking or self.phase is not Phase.PAUSED:
            return None
        self._asking = None
        if probability is None:
            self._unscored = failure
            if self._judged or self.quiet_ms(position_ms) < self.rule.fallback_ms:
                return None  # silence decides: at fallback_ms, or max_wait_ms once judged
            return self._end(failure, None, position_ms)
        if probability >= self.rule.threshold:
            return self._end("complete", probability, position_ms)
        self._judged = True
        return Decision(
            False, "incomplete", probability, self.pause_from_ms, self.quiet_ms(position_ms)
        )

    def close(self) -> None:
        """Forget the open turn (it was used otherwise, e.g. the call ended)."""
        self.phase = Phase.IDLE
        self._asking = None
        self._unscored = None
        self._judged = False
        self._early = None

    def _ask(self, position_ms: float) -> ScoreRequest:
        self._ticket += 1
        self._asking, self._asked_at = self._ticket, position_ms
        start = max(self.turn_start_ms - PREROLL_MS, position_ms - WINDOW_MS, 0.0)
        return ScoreRequest(self._ticket, start, position_ms)

    def _end(self, reason: str, probability: float | None, position_ms: float) -> Decision:
        decision = Decision(
            True, reason, probability, self.pause_from_ms, self.quiet_ms(position_ms)
        )
        self.close()
        return decision
