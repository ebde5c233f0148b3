"""`Phone`: a `TwilioCaller` on a live line, advanced one 20 ms frame per tick by a `Ticker`.

Each tick sends one caller ``media`` frame (speech when some is queued, silence otherwise, as
a real phone line does) and plays 20 ms of the bot's audio (8 bytes/ms), echoing marks as
playback reaches them. Turn timing is taken on the way:

* a caller turn's latency runs from its *last voiced frame* (`voicing`: frame energy on the
  clip itself, so a clip's trailing silence does not hide part of the wait) to the moment
  the caller hears the bot's first non-silent frame (its arrival, plus the bot audio
  queued ahead of it and the silence the bot sent before it). That is what a caller
  perceives: the server's end-of-speech pause, recognition, the assistant and the first
  TTS chunk;
* bot speech that arrives while the caller is still speaking (before that last voiced frame,
  and not over bot audio already playing) is a cut-off: `Turn.bot_cut_in_at`;
* a barge-in runs from the first frame of speech sent over playing bot audio to ``clear``;
* a bot utterance is what the caller heard between silences of ``settle_s`` (or a ``clear``);
  a gap shorter than that inside an utterance counts its frames as late (playout underrun).

One `Ticker` drives any number of phones from one task, so a load test costs one timer, not
one per call. ``speed`` > 1 runs the line faster than real time (for tests).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telephonist.audio.formats import FRAME_BYTES, FRAME_MS, MULAW_BYTES_PER_MS
from telephonist.simulator.caller import TwilioCaller
from telephonist.simulator.recording import Recording
from telephonist.simulator.voicing import first_voiced_frame, last_voiced_frame

__all__ = ["BotUtterance", "Phone", "Ticker", "Turn"]

SILENT_FRAME = b"\xff" * FRAME_BYTES


@dataclass
class Turn:
    """One thing the caller did, and how long the bot took to answer it (seconds of call time)."""

    index: int
    caller: str
    started_at: float | None = None
    ended_at: float | None = None
    """The clip's last frame was sent (trailing silence included)."""
    speech_ended_at: float | None = None
    """The clip's last voiced frame was sent (a key press: when it was sent; a clip without a
    voiced frame: its last frame)."""
    first_audio_at: float | None = None
    """The caller hears the bot's first non-silent frame after ``speech_ended_at``."""
    bot_cut_in_at: float | None = None
    """Bot speech heard before ``speech_ended_at`` (the bot answered mid-sentence)."""
    over_bot: bool = False
    """The caller started while bot audio was playing (a barge-in attempt)."""
    barge_in_ms: float | None = None
    """Start of that speech → ``clear`` from the server."""

    @property
    def latency_from_speech_end_ms(self) -> float | None:
        """The caller's last voiced frame → the bot's first non-silent audio at the caller
        (None when the bot cut in before the caller finished)."""
        if self.speech_ended_at is None or self.first_audio_at is None:
            return None
        if self.bot_cut_in_at is not None:
            return None
        return round((self.first_audio_at - self.speech_ended_at) * 1000, 1)


@dataclass
class BotUtterance:
    """Bot audio the caller heard without a pause of ``settle_s``."""

    turn: int
    started_at: float
    heard_bytes: int = 0
    audio: bytearray = field(default_factory=bytearray)
    ended_at: float | None = None
    cleared: bool = False
    text: str | None = None

    @property
    def heard_ms(self) -> float:
        """Playing time heard."""
        return self.heard_bytes / MULAW_BYTES_PER_MS


class Phone:
    """One simulated caller's line."""

    def __init__(
        self,
        caller: TwilioCaller,
        *,
        record: bool = False,
        settle_s: float = 0.5,
        clock: Callable[[], float] = time.perf_counter,
        on_utterance: Callable[[BotUtterance], None] | None = None,
    ) -> None:
        self.caller = caller
        self.recording = Recording() if record else None
        self.settle_ticks = max(1, round(settle_s * 1000 / FRAME_MS))
        self.clock = clock
        self.on_utterance = on_utterance
        self.t0 = clock()
        self.ticks = 0
        self.late_frames = 0
        self.speed = 1.0
        """Line time per wall-clock time (set by the `Ticker`): bot audio plays this fast."""
        self.turns: list[Turn] = [Turn(0, "(call answered)", 0.0, 0.0, 0.0)]
        self.utterances: list[BotUtterance] = []
        self.hung_up = False
        self._finished = False
        self._outgoing: deque[bytes] = deque()
        self._speaking: Turn | None = None
        self._voiced_left = 0
        self._utterance: BotUtterance | None = None
        self._quiet = 0
        self._waiters: list[tuple[Callable[[], bool], int | None, asyncio.Future[bool]]] = []
        caller.listeners.append(self._on_message)

    # -- what the caller does ---------------------------------------------------------------

    def now(self) -> float:
        """Seconds since the phone was created (call time)."""
        return self.clock() - self.t0

    @property
    def closed(self) -> bool:
        """The call is over (hung up by either side)."""
        return self.hung_up or self._finished or self.caller.closed_by_server

    @property
    def bot_playing(self) -> bool:
        """Bot audio is queued or was heard less than ``settle_s`` ago."""
        return self._utterance is not None or self.caller.playout.buffered_bytes > 0

    async def say(self, mulaw: bytes, label: str) -> Turn:
        """Speak ``mulaw`` (one frame per tick); returns the turn once its last frame is sent."""
        turn = Turn(len(self.turns), label)
        self.turns.append(turn)
        if not mulaw:
            turn.started_at = turn.ended_at = turn.speech_ended_at = self.now()
            return turn
        last = last_voiced_frame(mulaw)
        self._voiced_left = 0 if last is None else last + 1
        self._speaking = turn
        self._outgoing.extend(mulaw[i : i + FRAME_BYTES] for i in range(0, len(mulaw), FRAME_BYTES))
        await self.until(lambda: turn.ended_at is not None)
        return turn

    async def press(self, digits: str) -> Turn:
        """Send DTMF keys now."""
        turn = Turn(len(self.turns), f"dtmf {digits}", self.now())
        self.turns.append(turn)
        await self.caller.send_dtmf(digits)
        turn.ended_at = turn.speech_ended_at = self.now()
        return turn

    async def pause(self, seconds: float) -> None:
        """Stay on the line for ``seconds`` of line time (silence is streamed)."""
        target = self.ticks + round(seconds * 1000 / FRAME_MS)
        await self.until(lambda: self.ticks >= target)

    async def wait_quiet(self, reply_timeout_s: float = 10.0, max_s: float = 120.0) -> bool:
        """Until the bot has answered the last turn (or ``reply_timeout_s`` passed without an
        answer) and finished playing; False if ``max_s`` passed first."""
        last = self.turns[-1]
        deadline = self.ticks + round(reply_timeout_s * 1000 / FRAME_MS)

        def quiet() -> bool:
            late = self.ticks >= deadline
            answered = last.first_audio_at is not None or late
            heard = last.ended_at is not None and not self.bot_playing
            return answered and heard and self._back(late)

        return await self.until(quiet, max_s)

    def _back(self, late: bool) -> bool:
        """The line is up: not between a lost stream and the next, and a resumed stream has
        said its first words (unless ``late``)."""
        legs = self.caller.legs
        if not self.caller.streaming:
            return False
        return len(legs) < 2 or legs[-1].first_media_at is not None or late

    async def wait_bot_heard(self, seconds: float, timeout_s: float = 10.0) -> bool:
        """Until the current bot utterance has played for ``seconds`` (False on timeout)."""

        def heard() -> bool:
            utterance = self._utterance
            return utterance is not None and utterance.heard_ms >= seconds * 1000

        return await self.until(heard, timeout_s)

    async def until(self, predicate: Callable[[], bool], within_s: float | None = None) -> bool:
        """Wait until ``predicate()`` (checked after each tick) or the call ends; False after
        ``within_s`` of line time."""
        if predicate():
            return True
        if self.closed:
            return False
        limit = None if within_s is None else self.ticks + round(within_s * 1000 / FRAME_MS)
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, limit, done))
        return await done

    async def hang_up(self) -> None:
        """Send ``stop`` and close the socket."""
        if not self.closed:
            self.hung_up = True
            await self.caller.hang_up()
        self.finish()

    def finish(self) -> None:
        """End any utterance in progress and wake every waiter (the call is over)."""
        self._finished = True
        self._end_utterance(cleared=False)
        self._wake()

    # -- the line ---------------------------------------------------------------------------

    async def tick(self) -> None:
        """One 20 ms frame each way."""
        frame = self._next_frame()
        await self.caller.send_audio(frame)
        self._played(frame, await self.caller.play_heard(FRAME_MS))

    def _next_frame(self) -> bytes:
        """The caller's next frame (speech when some is queued, else silence), timing the
        turn it belongs to."""
        if not self._outgoing:
            return SILENT_FRAME
        frame = self._outgoing.popleft()
        turn = self._speaking
        if turn is not None:
            if turn.started_at is None:
                turn.started_at = self.now()
                turn.over_bot = self.bot_playing
            if self._voiced_left:
                self._voiced_left -= 1
                if not self._voiced_left:
                    turn.speech_ended_at = self.now()
            if not self._outgoing:
                turn.ended_at = self.now()
                if turn.speech_ended_at is None:  # nothing voiced: its end stands in
                    turn.speech_ended_at = turn.ended_at
                self._speaking = None
        return frame

    def _played(self, frame: bytes, heard: bytes) -> None:
        """After a tick's frame went out and ``heard`` (bot audio) played."""
        self._track(heard)
        if self.recording is not None:
            self.recording.add(frame, heard)
        self.ticks += 1
        self._wake()

    def _wake(self) -> None:
        if not self._waiters:
            return
        waiting = []
        for predicate, limit, done in self._waiters:
            if done.done():
                continue
            if predicate():
                done.set_result(True)
            elif self.closed or (limit is not None and self.ticks >= limit):
                done.set_result(False)
            else:
                waiting.append((predicate, limit, done))
        self._waiters = waiting

    def _track(self, heard: bytes) -> None:
        if heard:
            if self._utterance is None:
                self._utterance = BotUtterance(len(self.turns) - 1, self.now())
            self._utterance.heard_bytes += len(heard)
            if self.caller.keep_audio:
                self._utterance.audio += heard
            if self._quiet:
                self.late_frames += self._quiet
            self._quiet = 0
        elif self._utterance is not None:
            self._quiet += 1
            if self._quiet >= self.settle_ticks:
                self._end_utterance(cleared=False, quiet_ticks=self._quiet)

    def _end_utterance(self, *, cleared: bool, quiet_ticks: int = 0) -> None:
        utterance, self._utterance, self._quiet = self._utterance, None, 0
        if utterance is None:
            return
        utterance.cleared = cleared
        utterance.ended_at = self.now() - quiet_ticks * FRAME_MS / 1000
        self.utterances.append(utterance)
        if self.on_utterance is not None:
            self.on_utterance(utterance)

    def _on_message(self, message: dict[str, Any]) -> None:
        event = message.get("event")
        if event == "media":
            self._bot_audio(self.turns[-1], message["media"]["payload"])
        elif event == "clear":
            for turn in reversed(self.turns):
                if turn.over_bot and turn.barge_in_ms is None and turn.started_at is not None:
                    turn.barge_in_ms = round((self.now() - turn.started_at) * 1000, 1)
                    break
            self._end_utterance(cleared=True)

    def _bot_audio(self, turn: Turn, payload: str) -> None:
        """Time the bot's first speech after (or, cutting in, during) the caller's turn."""
        if turn.speech_ended_at is not None:
            if turn.first_audio_at is not None:
                return
        elif turn.started_at is None or turn.over_bot or turn.bot_cut_in_at is not None:
            return
        audio = base64.b64decode(payload)
        first = first_voiced_frame(audio)
        if first is None:
            return
        # Heard once the audio queued ahead of it, and the silence before it, have played.
        ahead_ms = (self.caller.playout.buffered_bytes + first * FRAME_BYTES) / MULAW_BYTES_PER_MS
        heard_at = self.now() + ahead_ms / 1000 / self.speed
        if turn.speech_ended_at is not None:
            turn.first_audio_at = heard_at
        else:
            turn.bot_cut_in_at = heard_at


class Ticker:
    """Drives phones in real time (or ``speed`` times faster), one frame per tick for each.

    ``phases`` spreads the phones over the tick, as calls that began at different moments
    are: the k-th phone added sends its frames ``k mod phases`` steps of ``1/phases`` tick
    after the first. With 1, every phone's frame goes out in the same instant.
    """

    def __init__(
        self,
        *,
        speed: float = 1.0,
        clock: Callable[[], float] = time.perf_counter,
        phases: int = 1,
    ) -> None:
        self.interval = FRAME_MS / 1000 / speed
        self.clock = clock
        self._slots: list[list[Phone]] = [[] for _ in range(max(1, phases))]
        self._added = 0
        self.ticks = 0
        self.late_ticks = 0
        """Ticks that started more than one frame late (the generator could not keep up)."""
        self.max_lag_ms = 0.0

    @property
    def phones(self) -> list[Phone]:
        """The phones on the line."""
        return [phone for slot in self._slots for phone in slot]

    def add(self, phone: Phone) -> None:
        """Put a phone on the line."""
        phone.speed = FRAME_MS / 1000 / self.interval
        self._slots[self._added % len(self._slots)].append(phone)
        self._added += 1

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set; phones whose call ended are dropped."""
        step = self.interval / len(self._slots)
        next_at = self.clock()
        phase, late = 0, False
        while not stop.is_set():
            slot = self._slots[phase]
            for phone in list(slot):
                if phone.closed:
                    slot.remove(phone)
                    phone.finish()
                    continue
                await phone.tick()
            next_at += step
            lag = self.clock() - next_at
            if lag > self.interval:
                late = True
                self.max_lag_ms = max(self.max_lag_ms, lag * 1000)
                if lag > 0.2:  # far behind: resynchronise rather than burst
                    next_at = self.clock()
            phase = (phase + 1) % len(self._slots)
            if phase == 0:
                self.ticks += 1
                self.late_ticks += late
                late = False
            await asyncio.sleep(max(0.0, next_at - self.clock()))
        for phone in self.phones:
            phone.finish()
