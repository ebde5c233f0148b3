"""`CallSession`: one per call, the only place that knows time, audio, speech and the assistant
together.

Inputs arrive from the server (``audio``, ``dtmf``, ``mark``, ``end``) and from the ASR
stream; the session turns them into assistant events (one at a time, in order, on its turn
loop) and speaks the assistant's replies. Barge-in, silence monitoring, DTMF collection and
hang-up are decided here. Nothing in it blocks: CPU work lives in providers' threads.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping
from typing import Any

from telephonist.audio.formats import MULAW_BYTES_PER_MS
from telephonist.call.bot_audio import BotAudio
from telephonist.call.clock import Clock, Timer
from telephonist.call.dtmf import DtmfInput
from telephonist.call.events import CallEvent, EventBus, EventKind
from telephonist.call.interruptions import may_interrupt
from telephonist.call.line import Line
from telephonist.call.recognition import Recognition
from telephonist.call.settings import CallSettings
from telephonist.call.silence import SilenceMonitor
from telephonist.call.speaker import Speaker, Spoken
from telephonist.call.transport import CallControl, Transport
from telephonist.call.turn_timing import TurnTiming, ms
from telephonist.dialogue.turns import (
    Assistant,
    AssistantTurn,
    BargedIn,
    BotMessage,
    SessionEnd,
    SessionStart,
    Silence,
    UserEvent,
    UserText,
)
from telephonist.errors import ProviderError
from telephonist.speech.asr.base import ASRError, ASRProvider, ASRStream, Final, Partial
from telephonist.speech.asr.base import SpeechStarted as ASRSpeechStarted
from telephonist.speech.tts.base import TTSEngine, VoiceSpec
from telephonist.speech.vad.base import VADModel
from telephonist.speech.vad.batcher import VADBatcher
from telephonist.speech.vad.detector import SpeechDetector, VADEdge
from telephonist.twilio.stream import MediaStream

__all__ = ["CallSession"]

log = logging.getLogger(__name__)

MAX_QUEUED_EVENTS = 32


class CallSession:
    """Turn-taking for one call."""

    def __init__(self, *, stream: MediaStream, transport: Transport, assistant: Assistant,
                 asr: ASRProvider, tts: TTSEngine, vad: VADModel, settings: CallSettings,
                 clock: Clock, events: EventBus, call_control: CallControl | None = None,
                 metadata: Mapping[str, Any] | None = None,
                 vad_batcher: VADBatcher | None = None) -> None:
        assert stream.start is not None, "a session starts after the stream's start frame"
        self.call_id = stream.start.call_sid
        self.metadata = dict(metadata or {})
        self._stream = stream
        self._transport = transport
        self._assistant = assistant
        self._asr_provider = asr
        self._settings = settings
        self._clock = clock
        self._events = events
        self._line = Line(self.call_id, transport, call_control, self._emit)
        self._bot = BotAudio()
        self._speaker = Speaker(stream, transport, tts, self._bot.playback,
                                on_audio=self._audio_sent)
        self._vad_batcher = vad_batcher
        self._verdicts: deque[tuple[bytes, list[VADEdge]]] = deque()
        self._listener: asyncio.Task[None] | None = None
        self._detector = SpeechDetector(
            vad.new_stream(), threshold=settings.vad_threshold,
            min_silence_ms=settings.min_silence_ms)
        # Caller events for the assistant, or a turn the session itself decided (an apology).
        self._queue: asyncio.Queue[UserEvent | AssistantTurn] = asyncio.Queue(MAX_QUEUED_EVENTS)
        self._recognition = Recognition()
        self._tasks: list[asyncio.Task[None]] = []
        self._speaking: asyncio.Task[None] | None = None
        self._audio_ms = 0.0
        self._speech_started_ms: float | None = None
        self._busy = False
        self._silence = SilenceMonitor(
            clock, enabled=settings.monitor_silence, timeout=settings.silence_timeout,
            still_idle=lambda: not (self._busy or self._bot.playing
                                    or self._speech_started_ms is not None),
            on_silence=self._silent)
        self._dtmf = DtmfInput(clock, settings.dtmf_timeout,
                               lambda digits: self._put(UserText(digits, source="dtmf")))
        self._drain_watchdog = Timer(clock, self._marks_lost)
        self._hangup_requested = False
        self._hung_up = False
        self._timing = TurnTiming()
        self._started_at = clock.now()
        self.end_reason: str | None = None
        self.closed = asyncio.Event()

    # -- inputs from the server -------------------------------------------------------------

    async def open(self) -> None:
        """Greet the caller and start listening."""
        self._emit(EventKind.CALL_STARTED, **{k: v for k, v in self.metadata.items() if k in (
            "user_phone", "bot_phone", "direction", "stream_id")})
        self._put(SessionStart(self.metadata))
        self._tasks.append(asyncio.create_task(self._turn_loop()))
        try:
            asr = await self._recognition.open(self._asr_provider, self._settings.language)
        except ProviderError as exc:
            self._emit(EventKind.ERROR, source="asr", message=str(exc), retryable=exc.retryable)
            await self._give_up_listening()
            return
        self._tasks.append(asyncio.create_task(self._asr_loop(asr)))

    async def audio(self, mulaw: bytes) -> None:
        """One inbound frame of caller audio (the hot path); never waits for the VAD."""
        if self.end_reason is not None:
            return
        self._audio_ms += len(mulaw) / MULAW_BYTES_PER_MS
        held = await self._recognition.arrived(mulaw)
        if self._vad_batcher is None:
            await self._listen(held, self._detector.feed(mulaw))
        else:  # scored with other calls' frames, off the loop; handled in arrival order
            self._vad_batcher.submit(self._detector.stream, mulaw,
                                     lambda probabilities: self._scored(held, probabilities))

    def _scored(self, held: bytes, probabilities: list[float]) -> None:
        if self.end_reason is not None:
            return
        edges = self._detector.feed_probabilities(probabilities)
        idle = self._listener is None or self._listener.done()
        if idle and not (held or edges or self._recognition.hears_pauses
                         or self._barge_in_due()):
            return  # the common verdict, "nothing changed": no task for it
        self._verdicts.append((held, edges))
        if idle:
            self._listener = asyncio.create_task(self._drain_verdicts())

    async def _drain_verdicts(self) -> None:
        try:
            while self._verdicts:
                await self._listen(*self._verdicts.popleft())
        except Exception:  # the per-frame path must never take the call down silently
            log.exception("call.listen_failed", extra={"call_id": self.call_id})

    async def _listen(self, held: bytes, edges: list[VADEdge]) -> None:
        """The VAD's verdict on one frame: the frame if recognition waited for it, the
        speech edges, then a possible barge-in."""
        await self._recognition.before_verdict(held)
        for edge in edges:
            await self._vad_edge(edge)
        await self._recognition.quiet(self._detector.quiet_ms)
        if self._barge_in_due():
            await self._barge_in("speech")

    def _barge_in_due(self) -> bool:
        """Caller speech has lasted ``min_speech_ms`` over interruptible bot audio."""
        return (self._speech_started_ms is not None and self._may_barge_in(words=None)
                and self._detector.position_ms - self._speech_started_ms
                >= self._settings.interruptions.min_speech_ms)

    async def dtmf(self, digit: str) -> None:
        """A keypress."""
        if self.end_reason is not None:
            return
        self._emit(EventKind.DTMF, digit=digit)
        self._silence.reset()
        if self._may_barge_in(words=None, keypress=True):
            await self._barge_in("dtmf")
        self._dtmf.key(digit)

    async def mark(self, name: str) -> None:
        """Twilio echoed mark ``name``."""
        played = self._bot.echoed(name)
        if played is None:
            return
        self._emit(EventKind.MARK_PLAYED, message_id=played.message_id, offset=played.offset)
        if not self._bot.playing:
            await self._drained()

    async def end(self, reason: str) -> None:
        """The call is over; tell the assistant once and release everything."""
        if self.end_reason is not None:
            return
        self.end_reason = reason
        for timer in (self._silence, self._dtmf, self._drain_watchdog):
            timer.cancel()
        current = asyncio.current_task()
        for task in [*self._tasks, self._speaking, self._listener]:
            if task is not None and task is not current:
                task.cancel()
        await self._recognition.close()
        try:
            await self._assistant.handle(self.call_id, SessionEnd(reason))
        except Exception:
            log.exception("call.session_end_failed", extra={"call_id": self.call_id})
        self._bot.abandon(self._clock.now())
        self._emit(EventKind.CALL_ENDED, reason=reason,
                   duration_s=round(self._clock.now() - self._started_at, 3))
        self.closed.set()

    # -- the turn loop ----------------------------------------------------------------------

    def _put(self, event: UserEvent | AssistantTurn) -> None:
        self._silence.reset(caller_spoke=isinstance(event, UserText))
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._emit(EventKind.ERROR, source="session", message="event queue full; dropped",
                       event=type(event).__name__)

    async def _turn_loop(self) -> None:
        while self.end_reason is None:
            event = await self._queue.get()
            self._busy = True
            began = self._clock.now()
            if isinstance(event, AssistantTurn):
                turn = event
            else:
                try:
                    turn = await self._assistant.handle(self.call_id, event)
                except Exception:  # the assistant must not raise; if it does, the call goes on
                    log.exception("call.assistant_failed", extra={"call_id": self.call_id})
                    turn = AssistantTurn()
            self._timing.assistant_done = self._clock.now()
            self._emit(EventKind.TURN, event=type(event).__name__,
                       text=getattr(event, "text", None), assistant_ms=ms(self._clock.now()
                                                                            - began),
                       messages=[m.text for m in turn.messages], hang_up=turn.hang_up,
                       state=dict(turn.state))
            await self._apply(turn, responds_to_caller=isinstance(
                event, SessionStart | UserText | Silence))
            self._busy = False
            if self._hangup_requested:
                await self._maybe_hang_up()
            elif not self._bot.playing:
                self._arm_silence()

    async def _apply(self, turn: AssistantTurn, *, responds_to_caller: bool) -> None:
        if responds_to_caller:
            self._dtmf.expect(turn.collect_dtmf)
            self._silence.follow(turn.silence_timeout)
        if turn.messages:
            self._speaking = asyncio.create_task(self._speak_all(turn.messages))
            await asyncio.wait({self._speaking})
            self._speaking = None
            if self._bot.playing:
                self._drain_watchdog.start(max(0.0, self._bot.playout_end - self._clock.now())
                                           + self._settings.playout_grace)
        if turn.transfer_to:
            await self._transfer(turn.transfer_to)
        if turn.hang_up:
            self._hangup_requested = True

    async def _speak_all(self, messages: tuple[BotMessage, ...]) -> None:
        for message in messages:
            spoken = self._bot.new_message(message)
            self._emit(EventKind.BOT_MESSAGE, message_id=spoken.message_id, text=message.text,
                       allow_interruptions=message.allow_interruptions)
            self._timing.tts_start = self._clock.now()
            voice = VoiceSpec(language=self._settings.language, voice=message.voice,
                              ssml=message.ssml)
            try:
                await self._speaker.speak(spoken, voice)
                self._emit(EventKind.BOT_AUDIO_SENT, message_id=spoken.message_id,
                           bytes=spoken.sent)
            except ProviderError as exc:
                self._emit(EventKind.ERROR, source="tts", message=str(exc),
                           retryable=exc.retryable, message_id=spoken.message_id)

    def _audio_sent(self, spoken: Spoken, n_bytes: int) -> None:
        now = self._clock.now()
        self._silence.reset()
        self._bot.sent(n_bytes, now)
        if spoken.sent == n_bytes:  # first audio of this message
            tts_ms, latency = self._timing.first_audio(now)
            self._emit(EventKind.TTS_FIRST_BYTE, message_id=spoken.message_id, tts_ms=tts_ms)
            if latency is not None:
                self._emit(EventKind.LATENCY, **latency)

    # -- listening --------------------------------------------------------------------------

    async def _vad_edge(self, edge: VADEdge) -> None:
        speaking = edge.speaking
        if speaking:
            self._speech_started_ms = edge.offset_ms
            self._silence.reset()
            self._emit(EventKind.SPEECH_STARTED, offset_ms=edge.offset_ms)
        else:
            self._speech_started_ms = None
            # When the caller stopped, if frames came in real time (unscored ones count ≤ 1 s).
            lag = (min(self._audio_ms, edge.detected_ms + 1000) - edge.offset_ms) / 1000
            self._timing.speech_end = self._clock.now() - lag
            self._emit(EventKind.SPEECH_ENDED, offset_ms=edge.offset_ms)
            if not self._busy and not self._bot.playing and self._queue.empty():
                self._arm_silence()
        await self._recognition.on_vad(speaking)

    async def _asr_loop(self, asr: ASRStream) -> None:
        async for event in asr.events():
            if isinstance(event, Final):
                text = event.text.strip()
                self._emit(EventKind.FINAL, text=text, confidence=event.confidence)
                if not text:
                    continue
                if self._may_barge_in(words=len(text.split())):
                    await self._barge_in("final")
                self._speech_started_ms = None  # this utterance is used up: it cannot also
                self._timing.final = self._clock.now()  # barge in on its own answer
                self._put(UserText(text, source="speech", confidence=event.confidence))
            elif isinstance(event, Partial):
                self._emit(EventKind.PARTIAL, text=event.text)
                self._silence.reset()
                if self._may_barge_in(words=len(event.text.split())):
                    await self._barge_in("partial")
            elif isinstance(event, ASRSpeechStarted):
                if self._may_barge_in(words=None):
                    await self._barge_in("asr_speech_started")
            elif isinstance(event, ASRError):
                self._emit(EventKind.ERROR, source="asr", message=event.message,
                           retryable=event.retryable)
                if not event.retryable:
                    await self._give_up_listening()
                    return

    async def _give_up_listening(self) -> None:
        """Recognition is lost for good: apologise and hang up rather than leave dead air."""
        self._put(AssistantTurn(messages=(BotMessage(
            self._settings.asr_failure_message, allow_interruptions=False),), hang_up=True))

    def _may_barge_in(self, *, words: int | None, keypress: bool = False) -> bool:
        """Is the caller allowed to interrupt what is playing now?"""
        speaking = self._speaking is not None and not self._speaking.done()
        return may_interrupt(self._settings.interruptions, playing=self._bot.playing or speaking,
                             interruptible=self._bot.interruptible(), words=words,
                             keypress=keypress)

    async def _barge_in(self, trigger: str) -> None:
        heard, full = self._bot.interrupt(self._clock.now())
        self._drain_watchdog.cancel()
        onset, self._speech_started_ms = self._speech_started_ms, None
        await self._transport.send(self._stream.clear())
        if self._speaking is not None:
            self._speaking.cancel()
        # Caller audio since the speech onset the VAD dated: min_speech_ms plus every lag.
        reaction = {} if onset is None else {"onset_to_clear_ms": self._audio_ms - onset}
        self._emit(EventKind.BARGE_IN, trigger=trigger, heard=heard, full=full, **reaction)
        self._put(BargedIn(heard_text=heard, full_text=full))
        await self._drained()

    # -- barge-in, playback finished, silence, hang-up ---------------------------------------

    async def _drained(self) -> None:
        self._drain_watchdog.cancel()
        self._emit(EventKind.PLAYBACK_DONE)
        if self._hangup_requested:
            await self._maybe_hang_up()
        elif not self._busy and self._queue.empty():
            self._arm_silence()

    async def _marks_lost(self) -> None:
        """Twilio never echoed our marks: treat the estimated play-out time as the end."""
        self._emit(EventKind.ERROR, source="twilio", message="marks not echoed; assumed played")
        self._bot.abandon(self._clock.now())
        await self._drained()

    def _arm_silence(self) -> None:
        if self.end_reason is None and not self._hangup_requested:
            self._silence.arm()

    def _silent(self, consecutive: int, timeout: float) -> None:
        self._emit(EventKind.SILENCE, consecutive=consecutive, timeout=timeout)
        self._dtmf.discard()
        self._put(Silence(consecutive=consecutive))

    async def _maybe_hang_up(self) -> None:
        if self._hung_up or self._busy or self._bot.playing or self._speaking is not None:
            return
        self._hung_up = True
        await self._line.hang_up()
        await self.end("bot hung up")

    async def _transfer(self, number: str) -> None:
        if not await self._line.transfer(number):
            self._hangup_requested = True

    def _emit(self, kind: EventKind, **data: Any) -> None:
        self._events.publish(CallEvent(kind, self.call_id, self._clock.now(), data))

