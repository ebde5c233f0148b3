"""The caller's side of one call: each frame to the VAD and the ASR in the right order, the
VAD's verdicts, and the recognised speech, turned into what the session acts on.

The frame path is hot (every call, every 20 ms). ``hear`` hands the frame to the recognition
stream (at once, or held for the VAD's verdict: see `telephonist.call.recognition`) and to the
VAD (scored inline, or batched with other calls' frames off the loop), and returns. Verdicts
are handled in arrival order: the held frame reaches the ASR, then the speech edges, then
the pause report, then a possible barge-in. The common verdict, "nothing changed", costs no
task and no call into the session.

With a turn scorer (``turn.model``), a pause of ``turn.pause_ms`` does not end the turn by
itself: the `Judge` asks the model whether the turn sounds complete, and the turn ends (the
floor's ``caller_stopped``, the recogniser's end of utterance) when it does, or when the pause
reaches ``turn.max_wait_ms``; speech meanwhile continues the same turn. Finals that come while
the turn is open are held and joined (`telephonist.call.held_finals`). Verdicts and decisions
are handled one at a time, in order.

The session is the `Floor`: the listener asks it whether the caller may interrupt what is
playing, and tells it when the caller takes the floor, stops, says something, or can no
longer be heard. Speech the VAD heard begin and no final transcript or barge-in has used yet
is the caller's open utterance (``onset_ms``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Protocol

from telephonist.audio.formats import MULAW_BYTES_PER_MS
from telephonist.call.events import (
    AsrFinal,
    AsrPartial,
    CallEvent,
    ErrorReported,
    SpeechEnded,
    SpeechStarted,
)
from telephonist.call.interruptions import believed
from telephonist.call.judge import Judge, TurnDecided, Unscored
from telephonist.call.recognition import Recognition
from telephonist.call.settings import CallSettings
from telephonist.errors import ProviderError
from telephonist.speech.asr.base import ASRError, ASRProvider, ASRStream, Final, Partial
from telephonist.speech.asr.base import SpeechStarted as ASRSpeechStarted
from telephonist.speech.vad.base import VADModel
from telephonist.speech.vad.batcher import VADBatcher
from telephonist.speech.vad.detector import SpeechDetector, VADEdge
from telephonist.turn.rule import Decision, ScoreRequest
from telephonist.turn.scorer import TurnScore, TurnScorer

__all__ = ["HELD_BATCH_BYTES", "STALE_ONSET_SLACK_MS", "Floor", "Listener"]

log = logging.getLogger(__name__)

STALE_ONSET_SLACK_MS = 100.0
"""How much earlier than the recognised audio the VAD may date a new utterance's onset."""

HELD_BATCH_BYTES = int(100 * MULAW_BYTES_PER_MS)
"""Frames held for a recogniser that follows our VAD go to it in batches of about this much
audio when their verdicts change nothing (one task per 100 ms, not per frame), and always
before any edge or pause reaches it, so it never hears of an edge ahead of the audio."""


class Floor(Protocol):
    """The session, as the listener sees it."""

    call_id: str

    def may_interrupt(self, words: int | None) -> bool:
        """May the caller interrupt what is playing now (``words``: None for speech the VAD
        heard, else the recognised word count)?"""

    async def interrupt(self, trigger: str, text: str | None = None) -> None:
        """The caller barged in (``trigger``: speech, partial, final, asr_speech_started;
        ``text``: the words recognised, for partial and final)."""

    def caller_active(self) -> None:
        """The caller began speaking, or words were recognised."""

    async def caller_stopped(self, lag: float) -> None:
        """The VAD heard the caller stop, ``lag`` seconds of audio ago."""

    def caller_said(self, text: str, confidence: float | None) -> None:
        """A final transcript with words in it: the caller's utterance."""

    def heard_no_words(self) -> None:
        """A final transcript without words (a barge-in on hold may resume)."""

    async def recognition_lost(self) -> None:
        """The ASR cannot be opened or failed for good."""

    def over_bot(self) -> bool:
        """The bot is speaking, or a barge-in on hold waits for words: caller sound now is
        about the bot's audio, and its end is found as without a turn model."""


class Listener:
    """Listening for one call."""

    def __init__(
        self,
        floor: Floor,
        vad: VADModel,
        settings: CallSettings,
        emit: Callable[[CallEvent], None],
        *,
        batcher: VADBatcher | None = None,
        turn_scorer: TurnScorer | None = None,
    ) -> None:
        """``turn_scorer``: the end-of-turn model every call shares (None: a turn ends after
        ``min_silence_ms`` of silence, whatever ``settings.turn`` says)."""
        self._floor = floor
        self._emit = emit
        self._call_id = call_id = floor.call_id
        self._batcher = batcher
        self._judge = (
            Judge(settings.turn, turn_scorer, fallback_ms=settings.min_silence_ms, call_id=call_id)
            if turn_scorer is not None and settings.turn.uses_model
            else None
        )
        self._detector = SpeechDetector(
            vad.new_stream(),
            threshold=settings.vad_threshold,
            min_silence_ms=settings.min_silence_ms
            if self._judge is None
            else settings.turn.pause_ms,
        )
        self._order = asyncio.Lock()
        self._min_speech_ms = settings.interruptions.min_speech_ms
        self._interruptions = settings.interruptions
        self._recognition = Recognition()
        self._verdicts: deque[tuple[bytes, list[VADEdge]]] = deque()
        self._backlog = bytearray()
        """Held frames whose verdict changed nothing, not yet sent to the recogniser."""
        self._draining: asyncio.Task[None] | None = None
        self._recognising: asyncio.Task[None] | None = None
        self._closed = False
        self.received_ms = 0.0
        """Caller audio received so far."""
        self._recognised_until_ms = 0.0
        """Caller audio received when the last words were recognised: speech the VAD dates
        before it (a lagging VAD under load) was already heard and answered."""
        self.onset_ms: float | None = None
        """Where the caller's open utterance began (None: no open utterance)."""

    async def open(self, provider: ASRProvider, language: str) -> None:
        """Open the recognition stream; its failure is the floor's ``recognition_lost``."""
        if self._judge is not None:  # such an engine answers each end of turn
            self._judge.held.answers_each_turn = provider.capabilities.cuts_at_vad_edges
            self._judge.held.punctuated = provider.capabilities.punctuates
        try:
            stream = await self._recognition.open(provider, language)
        except ProviderError as exc:
            self._emit(ErrorReported(source="asr", message=str(exc), retryable=exc.retryable))
            await self._floor.recognition_lost()
            return
        if not self._closed:
            self._recognising = asyncio.create_task(self._recognised(stream))

    async def hear(self, mulaw: bytes) -> None:
        """One inbound frame of caller audio (the hot path); never waits for the VAD."""
        if self._closed:
            return
        self.received_ms += len(mulaw) / MULAW_BYTES_PER_MS
        if self._judge is not None:
            self._judge.heard(mulaw)
        held = await self._recognition.arrived(mulaw)
        if self._batcher is None:
            await self._verdict(held, self._detector.feed(mulaw))
        else:  # scored with other calls' frames, off the loop; handled in arrival order
            self._batcher.submit(
                self._detector.stream,
                mulaw,
                lambda probabilities: self._scored(held, probabilities),
            )

    @property
    def caller_speaking(self) -> bool:
        """The caller has an open utterance."""
        return self.onset_ms is not None

    def take_onset(self) -> float | None:
        """Close the open utterance (a barge-in used it); where it began, if there was one."""
        onset, self.onset_ms = self.onset_ms, None
        return onset

    async def close(self) -> None:
        """Stop listening: no verdict or transcript is handled after this."""
        self._closed = True
        if self._judge is not None:
            self._judge.close()
        current = asyncio.current_task()
        for task in (self._draining, self._recognising):
            if task is not None and task is not current:
                task.cancel()
        await self._recognition.close()

    def _scored(self, held: bytes, probabilities: list[float]) -> None:
        if self._closed:
            return
        detector, judge = self._detector, self._judge
        edges = detector.feed_probabilities(probabilities)
        idle = self._draining is None or self._draining.done()
        backlog = len(self._backlog) + len(held)
        quiet = not (
            backlog >= HELD_BATCH_BYTES
            or edges
            or (judge is not None and judge.attentive(detector.quiet_ms, detector.position_ms))
            or self._recognition.pause_due(detector.quiet_ms)
        )
        if idle and quiet and not self._barge_in_due():
            self._backlog += held  # the common verdict, "nothing changed": no task for it
            return
        if self._backlog:  # frames held back go first, in order
            held = bytes(self._backlog) + held
            self._backlog.clear()
        self._verdicts.append((held, edges))
        if idle:
            self._draining = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._verdicts:
                await self._verdict(*self._verdicts.popleft())
        except Exception:  # the per-frame path must never take the call down silently
            log.exception("call.listen_failed", extra={"call_id": self._call_id})

    async def _verdict(self, held: bytes, edges: list[VADEdge]) -> None:
        """The VAD's verdict on one frame: the frame if recognition waited for it, the
        speech edges, the pause so far (and the turn's), then a possible barge-in."""
        async with self._order:
            await self._recognition.before_verdict(held)
            for edge in edges:
                await self._edge(edge)
            if self._judge is None:
                await self._recognition.quiet(self._detector.quiet_ms)
            else:
                await self._judging(self._judge)
            if self._barge_in_due():
                await self._floor.interrupt("speech")

    def _barge_in_due(self) -> bool:
        """The open utterance has lasted ``min_speech_ms`` over interruptible bot audio."""
        return (
            self.onset_ms is not None
            and self._floor.may_interrupt(None)
            and self._detector.position_ms - self.onset_ms >= self._min_speech_ms
        )

    async def _edge(self, edge: VADEdge) -> None:
        if self._judge is not None:
            await self._judged_edge(self._judge, edge)
            return
        if edge.speaking:
            self.onset_ms = self._onset(edge)
            self._floor.caller_active()
            self._emit(SpeechStarted(offset_ms=edge.offset_ms))
            self._recognition.expect_backchannels(self._interruptions, self._floor.over_bot())
        else:
            self.onset_ms = None
            self._emit(SpeechEnded(offset_ms=edge.offset_ms))
            # When the caller stopped, if frames came in real time (unscored ones count ≤ 1 s).
            heard_ms = min(self.received_ms, edge.detected_ms + 1000)
            await self._floor.caller_stopped((heard_ms - edge.offset_ms) / 1000)
        await self._recognition.on_vad(edge.speaking)

    def _onset(self, edge: VADEdge) -> float | None:
        """Where an utterance that may barge in began; None for speech the recogniser had
        already turned into words when the VAD dated it (its answer must not be cut by it)."""
        if edge.offset_ms < self._recognised_until_ms - STALE_ONSET_SLACK_MS:
            return None
        return edge.offset_ms

    async def _recognised(self, stream: ASRStream) -> None:
        """The ASR's events, until the stream ends or fails for good."""
        async for event in stream.events():
            if isinstance(event, Final):
                text, end = event.text.strip(), event.sentence_end
                self._emit(AsrFinal(text=text, confidence=event.confidence, sentence_end=end))
                if self._floor.over_bot():  # a hum misheard as words may read as "Mm-hmm."
                    text = believed(self._interruptions, text, event.backchannel_reading)
                if text:
                    self._recognised_until_ms = self.received_ms
                if self._judge is not None:
                    async with self._order:
                        await self._judged_final(self._judge, text, event)
                    continue
                if not text:
                    self._floor.heard_no_words()
                    continue
                if self._floor.may_interrupt(len(text.split())):
                    await self._floor.interrupt("final", text)
                self.onset_ms = None  # this utterance is used up: it cannot also barge in on
                self._floor.caller_said(text, event.confidence)  # its own answer
            elif isinstance(event, Partial):
                self._emit(AsrPartial(text=event.text))
                self._floor.caller_active()
                if self._floor.may_interrupt(len(event.text.split())):
                    await self._floor.interrupt("partial", event.text)
            elif isinstance(event, ASRSpeechStarted):
                if self._floor.may_interrupt(None):
                    await self._floor.interrupt("asr_speech_started")
            elif isinstance(event, ASRError):
                self._emit(
                    ErrorReported(source="asr", message=event.message, retryable=event.retryable)
                )
                if not event.retryable:
                    await self._floor.recognition_lost()
                    return

    # -- with a turn model (`telephonist.call.judge`) -------------------------------------

    async def _judged_edge(self, judge: Judge, edge: VADEdge) -> None:
        """Speech opens a turn or continues the open one; a pause is judged."""
        if edge.speaking:
            self.onset_ms = self._onset(edge)
            self._floor.caller_active()
            if judge.speech(edge.offset_ms, self._emit):  # else it continues the open turn
                self._emit(SpeechStarted(offset_ms=edge.offset_ms))
                self._recognition.expect_backchannels(self._interruptions, self._floor.over_bot())
                await self._recognition.on_vad(True)
            return
        self.onset_ms = None
        position = self._detector.position_ms
        decided = judge.pause(edge.offset_ms, position, not self._floor.over_bot(), self._answered)
        if decided is not None:  # an early score (turn.speculate_ms) said complete
            await self._decided(judge, decided, judge.last_score)

    async def _judging(self, judge: Judge) -> None:
        """Per verdict: the pause so far to the recogniser, words whose answer is overdue,
        and the rule's clock (a new score, or the longest wait reached)."""
        position = self._detector.position_ms
        quiet = self._detector.quiet_ms
        if not self._floor.over_bot():  # sound over the bot is left to silence
            judge.score_early(quiet, position, self._answered)
        await self._recognition.quiet(max(quiet, judge.rule.quiet_ms(position)))
        for said in judge.held.due(position):
            self._floor.caller_said(said.text, said.confidence)
        step = judge.rule.advance(position)
        if isinstance(step, ScoreRequest):
            judge.ask(step, self._answered)
        elif isinstance(step, Decision):
            await self._decided(judge, step, None)

    async def _answered(self, ticket: int, score: TurnScore | Unscored) -> None:
        """A score came back (a string: why there is none, ``busy`` or ``error``)."""
        async with self._order:
            judge = self._judge
            if self._closed or judge is None:
                return
            position = self._detector.position_ms
            if isinstance(score, str):
                answer, decision = None, judge.rule.scored(ticket, None, position, failure=score)
            else:
                answer, decision = score, judge.rule.scored(ticket, score.probability, position)
            if decision is not None:
                await self._decided(judge, decision, answer)

    async def _decided(self, judge: Judge, decision: Decision, score: TurnScore | None) -> None:
        """Report the decision; if the turn ended, end the utterance as the VAD used to."""
        if decision.reason != "silence":  # the model's decisions (or its failure)
            probability = decision.probability
            self._emit(
                TurnDecided(
                    decision=decision.reason,
                    ended=decision.ended,
                    probability=None if probability is None else round(probability, 3),
                    pause_ms=round(decision.pause_ms, 1),
                    decision_ms=None if score is None else score.ms,
                    batch=None if score is None else score.batch,
                )
            )
        if not decision.ended:
            return
        self.onset_ms = None
        self._emit(SpeechEnded(offset_ms=decision.pause_from_ms))
        heard_ms = min(self.received_ms, self._detector.position_ms + 1000)
        await self._floor.caller_stopped((heard_ms - decision.pause_from_ms) / 1000)
        said = judge.turn_ended(self._detector.position_ms, decision.pause_from_ms, self._emit)
        await self._recognition.on_vad(False)
        if said is not None:
            self._floor.caller_said(said.text, said.confidence)

    async def _judged_final(self, judge: Judge, text: str, final: Final) -> None:
        """A final (``text``: its believed reading): a barge-in as ever; its words wait."""
        if text:
            if self._floor.may_interrupt(len(text.split())):
                await self._floor.interrupt("final", text)
            self.onset_ms = None
        sentence_end = final.sentence_end if text == final.text.strip() else None
        said = judge.final(text, final.confidence, self.received_ms, self._emit, sentence_end)
        if said is not None:
            self._floor.caller_said(said.text, said.confidence)
        elif not text:
            self._floor.heard_no_words()
