"""`CallSession`: one per call, the only place that knows time, audio, speech and the assistant
together.

Inputs arrive from the server (``audio``, ``dtmf``, ``mark``, ``end``). Caller audio goes
straight to the `Listener`, which reports back through the `Floor` methods (speech began or
ended, words, a barge-in). The session turns these into assistant events (one at a time, in
order, on its turn loop) and speaks the assistant's replies. Its `CallState` says whose turn
it is; ``_settle`` alone decides what follows (silence timing, play-out, hang-up), but not
while a barge-in is on hold (`telephonist.call.barge_in`). Nothing in it blocks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from telephonist.call.barge_in import BargeIns
from telephonist.call.bot_audio import BotAudio
from telephonist.call.clock import Clock, Timer
from telephonist.call.dtmf import DtmfInput
from telephonist.call.events import (
    CallEnded,
    CallEvent,
    CallStarted,
    ErrorReported,
    EventBus,
    KeyPressed,
    MarkPlayed,
    PlaybackDone,
    SilenceTimeout,
)
from telephonist.call.interruptions import holds, may_interrupt
from telephonist.call.line import Line
from telephonist.call.listener import Listener
from telephonist.call.narrator import Narrator
from telephonist.call.settings import CallSettings
from telephonist.call.silence import SilenceMonitor
from telephonist.call.speaker import Speaker
from telephonist.call.state import CallState
from telephonist.call.transport import CallControl, Transport
from telephonist.call.turn_record import turn_record
from telephonist.call.turn_timing import TurnTiming, ms
from telephonist.dialogue.turns import (
    Assistant,
    AssistantTurn,
    BargedIn,
    BotMessage,
    SessionEnd,
    SessionResumed,
    SessionStart,
    Silence,
    UserEvent,
    UserText,
)
from telephonist.speech.asr.base import ASRProvider
from telephonist.speech.tts.base import TTSEngine
from telephonist.speech.vad.base import VADModel
from telephonist.speech.vad.batcher import VADBatcher
from telephonist.turn.scorer import TurnScorer
from telephonist.twilio.stream import MediaStream

__all__ = ["CallSession"]

log = logging.getLogger(__name__)

MAX_QUEUED_EVENTS = 32


class CallSession:
    """Turn-taking for one call."""

    def __init__(
        self,
        *,
        stream: MediaStream,
        transport: Transport,
        assistant: Assistant,
        asr: ASRProvider,
        tts: TTSEngine,
        vad: VADModel,
        settings: CallSettings,
        clock: Clock,
        events: EventBus,
        call_control: CallControl | None = None,
        metadata: Mapping[str, Any] | None = None,
        vad_batcher: VADBatcher | None = None,
        stream_number: int = 0,
        on_purpose: Callable[[str], Awaitable[None]] | None = None,
        turn_scorer: TurnScorer | None = None,
    ) -> None:
        assert stream.start is not None, "a session starts after the stream's start frame"
        self.call_id = stream.start.call_sid
        self.metadata = dict(metadata or {})
        self.stream_number = stream_number
        """0 for the call's first stream; n for its n-th resume after a lost stream."""
        self.state = CallState.LISTENING
        self.end_reason: str | None = None
        self.closed = asyncio.Event()
        self._stream = stream
        self._transport = transport
        self._assistant = assistant
        self._asr = asr
        self._settings = settings
        self._clock = clock
        self._events = events
        self._line = Line(self.call_id, transport, call_control, self._emit, on_purpose)
        self._bot = BotAudio()
        rules, answers = settings.interruptions, asr.capabilities.cuts_at_vad_edges
        keep = rules.resume_after_ms > 0  # barge-ins on hold replay the audio sent
        self._timing = TurnTiming()
        self._narrator = Narrator(self._bot, self._timing, clock, settings.language, self._emit)
        playback, sent = self._bot.playback, self._narrator.sent
        self._speaker = Speaker(stream, transport, tts, playback, on_audio=sent, keep_audio=keep)
        self._narrator.speaker = self._speaker
        self._barge_ins = BargeIns(
            rules, clock, self._bot, self._speaker, self._emit, self._resume, answers
        )
        self._listener = Listener(
            self, vad, settings, self._emit, batcher=vad_batcher, turn_scorer=turn_scorer
        )
        # Caller events for the assistant, or a turn the session itself decided (an apology).
        self._queue: asyncio.Queue[UserEvent | AssistantTurn] = asyncio.Queue(MAX_QUEUED_EVENTS)
        self._turns: asyncio.Task[None] | None = None
        self._speaking: asyncio.Task[None] | None = None
        self._silence = SilenceMonitor(
            clock,
            enabled=settings.monitor_silence,
            timeout=settings.silence_timeout,
            still_idle=self._callers_turn,
            on_silence=self._silent,
        )
        self._dtmf = DtmfInput(
            clock, settings.dtmf_timeout, lambda digits: self._put(UserText(digits, source="dtmf"))
        )
        self._drain_watchdog = Timer(clock, self._marks_lost)
        self._started_at = clock.now()

    # -- inputs from the server -------------------------------------------------------------

    async def open(self) -> None:
        """Greet the caller (or, on a resumed call, pick up where it was) and listen."""
        meta = self.metadata
        self._emit(
            CallStarted(
                user_phone=meta.get("user_phone"),
                bot_phone=meta.get("bot_phone"),
                direction=meta.get("direction"),
                stream_id=meta.get("stream_id"),
                stream=self.stream_number or None,
            )
        )
        first = self.stream_number == 0
        self._put(
            SessionStart(self.metadata)
            if first
            else SessionResumed(self.metadata, self.stream_number)
        )
        self._turns = asyncio.create_task(self._turn_loop())
        await self._listener.open(self._asr, self._settings.language)

    async def audio(self, mulaw: bytes) -> None:
        """One inbound frame of caller audio (the hot path): straight to the listener."""
        await self._listener.hear(mulaw)

    async def dtmf(self, digit: str) -> None:
        """A keypress."""
        if self.state is CallState.ENDED:
            return
        self._emit(KeyPressed(digit=digit))
        self._silence.reset()
        if self.may_interrupt(None, keypress=True):
            await self.interrupt("dtmf")
        self._dtmf.key(digit)

    async def mark(self, name: str) -> None:
        """Twilio echoed mark ``name``."""
        played = self._bot.echoed(name)
        if played is None:
            return
        self._emit(MarkPlayed(message_id=played.message_id, offset=played.offset))
        if not self._bot.playing:
            await self._drained()

    async def end(self, reason: str, *, resumable: bool = False) -> None:
        """The call is over (``resumable``: only its stream is, and the call may come back on
        another); tell the assistant once and release everything."""
        if self.end_reason is not None:
            return
        self.end_reason = reason
        self.state = CallState.ENDED
        for timer in (self._silence, self._dtmf, self._drain_watchdog):
            timer.cancel()
        self._barge_ins.close()
        current = asyncio.current_task()
        for task in (self._turns, self._speaking):
            if task is not None and task is not current:
                task.cancel()
        await self._listener.close()
        try:
            await self._assistant.handle(
                self.call_id, SessionEnd(reason, resumable=resumable, stream=self.stream_number)
            )
        except Exception:
            log.exception("call.session_end_failed", extra={"call_id": self.call_id})
        self._bot.abandon(self._clock.now())
        duration = round(self._clock.now() - self._started_at, 3)
        self._emit(CallEnded(reason=reason, duration_s=duration, stream=self.stream_number or None))
        self.closed.set()

    # -- the floor: what the listener reports -----------------------------------------------

    def may_interrupt(self, words: int | None, keypress: bool = False) -> bool:
        """May the caller interrupt what is playing now (or confirm a barge-in on hold)?"""
        return may_interrupt(
            self._settings.interruptions,
            playing=self._bot.playing or self._more_to_say(),
            interruptible=self._bot.interruptible(),
            words=words,
            keypress=keypress,
            held=self.state is CallState.PAUSED,
        )

    async def interrupt(self, trigger: str, text: str | None = None) -> None:
        """Barge-in: stop the bot for good, or on hold while no words are known (``text``)."""
        if text is not None and self._barge_ins.listening_only(text, self._more_to_say()):
            return
        if self.state is CallState.PAUSED:  # words or a key: the barge-in on hold was real
            if self._barge_ins.held is not None:
                self.state, confirmed = self._barge_ins.confirm(trigger)
                await self._stopped(confirmed)
            return
        self._drain_watchdog.cancel()
        onset = self._listener.take_onset()
        hold = holds(self._settings.interruptions, trigger=trigger, text=text)
        held_from, self.state = (self.state, CallState.PAUSED) if hold else (None, self.state)
        barged = await self._barge_ins.stop(
            trigger,
            hold=held_from,
            # Caller audio since the speech onset the VAD dated: min_speech_ms plus every lag.
            onset_to_clear_ms=None if onset is None else self._listener.received_ms - onset,
            speaking=onset is not None,
            more_to_say=self._more_to_say(),
        )
        if barged is not None:
            await self._stopped(barged)

    def caller_active(self) -> None:
        """The caller is taking the floor: stop timing their silence (and resuming)."""
        self._silence.reset()
        if self._listener.caller_speaking:
            self._barge_ins.caller_spoke()

    async def caller_stopped(self, lag: float) -> None:
        """End of caller speech (``lag`` seconds of audio ago)."""
        self._timing.speech_end = self._clock.now() - lag
        self._barge_ins.caller_quiet(lag)
        await self._settle()

    def caller_said(self, text: str, confidence: float | None) -> None:
        """A final transcript: the caller's turn (unless only a backchannel over the bot)."""
        self._timing.final = self._clock.now()
        if not self._barge_ins.took_backchannel(text, self._more_to_say()):
            self._put(UserText(text, source="speech", confidence=confidence))

    def heard_no_words(self) -> None:
        """The recogniser found no words in an utterance."""
        self._barge_ins.no_words()

    def over_bot(self) -> bool:  # the bot speaks (or has more to say), or a barge-in waits
        return self.state is CallState.PAUSED or self._bot.playing or self._more_to_say()

    async def recognition_lost(self) -> None:
        """Recognition is lost for good: apologise and hang up rather than leave dead air."""
        message = BotMessage(self._settings.asr_failure_message, allow_interruptions=False)
        self._put(AssistantTurn(messages=(message,), hang_up=True))

    async def _resume(self) -> None:  # the caller was quiet long enough, with no words
        self.state = await self._barge_ins.resume() or self.state  # unless ended meanwhile
        if self.state is not CallState.RESPONDING:  # else the turn loop watches the play-out
            self._watch_playout()
        await self._settle()

    async def _stopped(self, barged: BargedIn) -> None:  # for good: the assistant is told
        if self._speaking is not None:
            self._speaking.cancel()
        self._put(barged)
        await self._drained()

    def _more_to_say(self) -> bool:  # the turn's messages are still being synthesised and sent
        return self._speaking is not None and not self._speaking.done()

    # -- the turn loop ----------------------------------------------------------------------

    def _put(self, event: UserEvent | AssistantTurn) -> None:
        self._silence.reset(caller_spoke=isinstance(event, UserText))
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            kind = type(event).__name__
            self._emit(
                ErrorReported(source="session", message="event queue full; dropped", event=kind)
            )

    async def _turn_loop(self) -> None:
        hang_up = False  # once decided, queued events are still answered, then the bot hangs up
        while self.state is not CallState.ENDED:
            event = await self._queue.get()
            await self._barge_ins.settled()  # a barge-in on hold is decided first
            self.state = CallState.RESPONDING
            began = self._clock.now()
            if isinstance(event, AssistantTurn):
                turn = event
            else:
                try:
                    turn = await self._assistant.handle(self.call_id, event)
                except Exception:  # the assistant must not raise; if it does, the call goes on
                    log.exception("call.assistant_failed", extra={"call_id": self.call_id})
                    turn = AssistantTurn()
            self._timing.answered(self._clock.now(), turn.llm_ms)
            self._emit(turn_record(event, turn, ms(self._clock.now() - began)))
            responds = isinstance(event, SessionStart | SessionResumed | UserText | Silence)
            hang_up = await self._apply(turn, responds_to_caller=responds) or hang_up
            self.state = CallState.HANGING_UP if hang_up else CallState.PLAYING
            await self._settle()

    async def _apply(self, turn: AssistantTurn, *, responds_to_caller: bool) -> bool:
        """Speak the turn and carry out its call actions; True when the call is to end."""
        if turn.hang_up:  # known at once, so a stream lost during the goodbye is not resumed
            self._line.decided()
        if responds_to_caller:
            self._dtmf.expect(turn.collect_dtmf)
            self._silence.follow(turn.silence_timeout)
        if turn.messages:
            self._speaking = asyncio.create_task(self._narrator.say(turn.messages))
            await asyncio.wait({self._speaking})
            if not self._speaking.cancelled() and self._speaking.exception() is not None:
                error = self._speaking.exception()
                log.error("call.speech_failed", exc_info=error, extra={"call_id": self.call_id})
            await self._barge_ins.settled()
            self._speaking = None
            self._watch_playout()
        if not turn.transfer_to:
            return turn.hang_up
        outcome = await self._line.transfer(str(turn.transfer_to))
        if outcome == "refused":  # the caller is still here: say so rather than leave silence
            sorry = BotMessage(self._settings.transfer_failure_message)
            self._put(AssistantTurn(messages=(sorry,)))
        return turn.hang_up or outcome == "impossible"

    # -- what follows: the state, silence, hang-up ------------------------------------------

    async def _settle(self) -> None:
        """The one place that decides what follows a turn, a drained playback or the end of
        caller speech: the next state, whether silence is timed, and the bot's hang-up."""
        if self.state in (CallState.RESPONDING, CallState.PAUSED, CallState.ENDED):
            return  # the turn loop, or the barge-in on hold, settles when it is done
        if self.state is CallState.HANGING_UP:
            if not self._bot.playing:
                self.state = CallState.ENDED
                await self._line.hang_up()
                await self.end("bot hung up")
            return
        self.state = CallState.PLAYING if self._bot.playing else CallState.LISTENING
        if self._callers_turn():
            self._silence.arm()

    def _callers_turn(self) -> bool:
        """Nothing playing, nothing queued, and the caller quiet: their silence counts."""
        return (
            self.state is CallState.LISTENING
            and self._queue.empty()
            and not self._listener.caller_speaking
        )

    def _watch_playout(self) -> None:  # audio queued at Twilio: its marks are due by play-out
        if self._bot.playing:
            playout = max(0.0, self._bot.playout_end - self._clock.now())
            self._drain_watchdog.start(playout + self._settings.playout_grace)

    async def _drained(self) -> None:
        self._drain_watchdog.cancel()
        self._emit(PlaybackDone())
        await self._settle()

    async def _marks_lost(self) -> None:
        """Twilio never echoed our marks: treat the estimated play-out time as the end."""
        self._emit(ErrorReported(source="twilio", message="marks not echoed; assumed played"))
        self._bot.abandon(self._clock.now())
        await self._drained()

    def _silent(self, consecutive: int, timeout: float) -> None:
        self._emit(SilenceTimeout(consecutive=consecutive, timeout=timeout))
        self._dtmf.discard()
        self._put(Silence(consecutive=consecutive))

    def _emit(self, event: CallEvent) -> None:
        """Publish ``event`` as this call's, now."""
        self._events.publish(event.stamped(self.call_id, self._clock.now()))
