"""One call's end-of-turn judge: the rule (`telephonist.turn.rule`), the caller audio it
scores, the scores under way on the shared `TurnScorer`, and the words held meanwhile; and
its decision as a call event (`TurnDecided`, kept here beside its one producer).

The listener feeds it and acts on what it decides; this only keeps the pieces together and
runs each score as its own task, so the frame path never waits for the model.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from telephonist.audio.formats import MULAW_BYTES_PER_MS
from telephonist.call.events import CallEvent, EventKind, omitted_if_none
from telephonist.call.held_finals import HeldFinals, Said
from telephonist.config.turn import TurnSettings
from telephonist.errors import TelephonistError
from telephonist.turn.rule import (
    PREROLL_MS,
    WINDOW_MS,
    Decision,
    EndOfTurn,
    Phase,
    ScoreRequest,
    TurnRule,
)
from telephonist.turn.scorer import TurnScore, TurnScorer, TurnScorerBusy

__all__ = ["Answered", "Judge", "TurnDecided", "Unscored"]

log = logging.getLogger(__name__)

Unscored = Literal["busy", "error"]
"""Why a score is missing: refused (the model's CPU budget is spent), or scoring failed."""
Answered = Callable[[int, TurnScore | Unscored], Coroutine[Any, Any, None]]
"""Called with a request's ticket and its score, or why there is none."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnDecided(CallEvent):
    """The end-of-turn model judged a pause: ``ended`` (complete, max_wait; late, busy or
    error: silence decided) or not (incomplete; continued: the caller spoke on before an
    ended turn's words reached the assistant, ``pause_ms`` after it began, and it is open
    again; unfinished: an ended turn's words stop mid-sentence, ``pause_ms`` after it
    began, and wait for the caller to go on, ``turn.unfinished_wait_ms``);
    ``decision_ms``: the model's time, batching wait included; ``batch``: how many calls'
    pauses shared the inference."""

    kind: ClassVar[EventKind] = EventKind.TURN_DECIDED
    decision: str
    ended: bool
    probability: float | None
    pause_ms: float
    decision_ms: float | None = omitted_if_none()
    batch: int | None = omitted_if_none()


_KEEP_BYTES = int((WINDOW_MS + PREROLL_MS + 1000) * MULAW_BYTES_PER_MS)
_SLACK_BYTES = 2000 * MULAW_BYTES_PER_MS


class Judge:
    """The turn model's side of one call's listening."""

    def __init__(
        self, settings: TurnSettings, scorer: TurnScorer, *, fallback_ms: float, call_id: str
    ) -> None:
        """``fallback_ms``: the silence rule's pause, for a pause the model cannot score."""
        self.rule = EndOfTurn(
            TurnRule(
                pause_ms=settings.pause_ms,
                max_wait_ms=settings.max_wait_ms,
                threshold=settings.threshold,
                rescore_ms=settings.rescore_ms,
                fallback_ms=max(fallback_ms, settings.pause_ms),
                speculate_ms=settings.speculate_ms,
            )
        )
        self.held = HeldFinals(
            unfinished_wait_ms=settings.unfinished_wait_ms,
            unfinished_words=settings.unfinished_words,
            unfinished_below=settings.unfinished_below,
        )
        self._scorer = scorer
        self._call_id = call_id
        self._audio = bytearray()
        self._audio_start = 0
        """Offset (bytes since the call began) of ``_audio``'s first byte."""
        self._tasks: set[asyncio.Task[None]] = set()
        self.last_score: TurnScore | None = None
        """The latest score that came back (an early one is decided on later)."""

    def attentive(self, quiet_ms: float, position_ms: float) -> bool:
        """Every verdict matters: a pause is being judged, an ended turn awaits words, or an
        early score is due (``quiet_ms`` of quiet within speech, the VAD's)."""
        return (
            self.rule.phase is Phase.PAUSED
            or self.held.awaiting
            or (quiet_ms > 0 and self.rule.early_due(position_ms - quiet_ms, position_ms))
        )

    def score_early(self, quiet_ms: float, position_ms: float, answered: Answered) -> None:
        """Ask for this quiet stretch's early score (``turn.speculate_ms``), if it is due."""
        if quiet_ms > 0:
            request = self.rule.quiet(position_ms - quiet_ms, position_ms)
            if request is not None:
                self.ask(request, answered)

    def speech(self, offset_ms: float, emit: Callable[[CallEvent], None]) -> bool:
        """The VAD heard speech begin at ``offset_ms``: True when the recogniser should hear
        of a new utterance. Speech before the last ended turn's words reached the assistant
        (the recogniser is still at work on them) continues that turn: it is open again,
        as if its pause had been judged incomplete, and one transcript goes for both
        (``emit``: a ``continued`` decision)."""
        started, paused_from = self.rule.turn_start_ms, self.rule.pause_from_ms
        fresh = self.rule.speech(offset_ms)
        if not fresh:
            self.held.resumed()
        elif self.held.reopen():
            self.rule.turn_start_ms = started  # the model hears the whole turn
            pause = round(offset_ms - paused_from, 1)
            emit(TurnDecided(decision="continued", ended=False, probability=None, pause_ms=pause))
        return fresh

    def final(
        self,
        text: str,
        confidence: float | None,
        at_ms: float,
        emit: Callable[[CallEvent], None],
        sentence_end: float | None = None,
    ) -> Said | None:
        """A final transcript (``at_ms``: caller audio received): the words that go to the
        assistant now, if any (`HeldFinals.final`)."""
        lingered = self.held.lingered
        said = self.held.final(
            text,
            confidence,
            turn_open=self.rule.open,
            paused=self.rule.phase is Phase.PAUSED,
            at_ms=at_ms,
            sentence_end=sentence_end,
        )
        self._report_lingering(lingered, at_ms, emit)
        return said

    def turn_ended(
        self, position_ms: float, pause_from_ms: float, emit: Callable[[CallEvent], None]
    ) -> Said | None:
        """The turn ended: its words, if they are all known already (`HeldFinals.turn_ended`)."""
        lingered = self.held.lingered
        said = self.held.turn_ended(position_ms, pause_from_ms)
        self._report_lingering(lingered, position_ms, emit)
        return said

    def _report_lingering(
        self, before: int, at_ms: float, emit: Callable[[CallEvent], None]
    ) -> None:
        start = self.held.lingering_from_ms
        if self.held.lingered != before and start is not None:
            pause = round(at_ms - start, 1)
            emit(TurnDecided(decision="unfinished", ended=False, probability=None, pause_ms=pause))

    def pause(
        self, offset_ms: float, position_ms: float, judge: bool, answered: Answered
    ) -> Decision | None:
        """The VAD heard ``pause_ms`` of quiet since ``offset_ms``: ask for its score, or
        the decision at once when an early score already said complete."""
        step = self.rule.pause(offset_ms, position_ms, judge=judge)
        if isinstance(step, ScoreRequest):
            self.ask(step, answered)
            return None
        return step

    def heard(self, mulaw: bytes) -> None:
        """Keep the caller's audio (about the last 10 s) for scoring."""
        self._audio += mulaw
        excess = len(self._audio) - _KEEP_BYTES
        if excess > _SLACK_BYTES:  # trim now and then, not on every frame
            del self._audio[:excess]
            self._audio_start += excess

    def clip(self, request: ScoreRequest) -> bytes:
        """The audio a request names (what of it is still kept)."""
        start = int(request.start_ms * MULAW_BYTES_PER_MS) - self._audio_start
        end = int(request.end_ms * MULAW_BYTES_PER_MS) - self._audio_start
        return bytes(self._audio[max(start, 0) : max(end, 0)])

    def ask(self, request: ScoreRequest, answered: Answered) -> None:
        """Score ``request`` on the shared scorer; ``answered`` gets the result."""
        task = asyncio.create_task(self._score(request.ticket, self.clip(request), answered))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _score(self, ticket: int, clip: bytes, answered: Answered) -> None:
        score: TurnScore | Unscored
        try:
            score = self.last_score = await self._scorer.score(clip)
        except TurnScorerBusy:  # the model's CPU budget is spent: silence decides (counted)
            score = "busy"
        except TelephonistError as exc:
            log.warning("turn.score_failed: %s", exc, extra={"call_id": self._call_id})
            score = "error"
        try:
            await answered(ticket, score)
        except Exception:  # a decision must never take the call down silently
            log.exception("turn.decision_failed", extra={"call_id": self._call_id})

    def close(self) -> None:
        """Cancel the scores under way (the call ended)."""
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        self.rule.close()
