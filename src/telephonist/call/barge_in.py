"""Barge-ins on hold: the bot stopped at the caller's sound, and words decide what follows.

The ``clear`` goes out exactly when it always did (``min_speech_ms`` of speech), so a real
interruption is heard at once. But until words are recognised the message is kept, not
forgotten: synthesis goes on unsent, and the assistant hears nothing yet. Then

* words that are not all backchannels, or a keypress, **confirm** it: the message is dropped
  and the assistant gets `BargedIn` with what the caller had heard (as for any barge-in);
* no words (a cough, a door, a "mm-hm") **resume** it: the bot takes the message up again at
  the start of the phrase it was cut in (the pause before it, found in the audio already
  sent), then goes on where it was.

"No words" is known once the caller is quiet (the VAD ended their sound) and either the
recogniser answered every utterance since the cut with no words — a recogniser that
transcribes each utterance cut at our VAD's edges (``cuts_at_vad_edges``, the local engine)
answers each one, with an empty `Final` when it heard nothing — or a backchannel was
recognised, or ``resume_after_ms`` passed (streaming recognisers, whose words come while the
caller speaks). An answer that does not come at all is given up on after ``resume_after_ms`` plus
``answer_grace`` (`ANSWER_GRACE_S` by default).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telephonist.call.bot_audio import BotAudio, Cut
from telephonist.call.clock import Clock, Timer
from telephonist.call.events import (
    Backchannel,
    BargeIn,
    BargeInConfirmed,
    BargeInResumed,
    CallEvent,
)
from telephonist.call.interruptions import is_backchannel
from telephonist.call.speaker import Speaker
from telephonist.call.state import CallState
from telephonist.config.channel import InterruptionSettings
from telephonist.dialogue.turns import BargedIn

__all__ = ["ANSWER_GRACE_S", "BargeIns", "Held"]

ANSWER_GRACE_S = 2.0
"""How much longer than ``resume_after_ms`` to wait for a per-utterance recogniser's answer
(a loaded machine takes over a second to transcribe)."""


@dataclass
class Held:
    """A barge-in on hold."""

    trigger: str
    cut: Cut
    since: float
    """Clock time of the ``clear``."""
    paused_from: CallState
    """The state to return to when it resolves."""
    asking: bool
    """The bot was asking the closing question of its turn: a backchannel answers it."""
    caller_speaking: bool
    quiet_since: float = 0.0
    """Clock time the caller's sound ended (when not ``caller_speaking``)."""
    ended: int = 0
    """Caller utterances that ended since the cut."""
    answered: int = 0
    """Of those, how many the recogniser answered (with no words)."""
    backchannel: str | None = None
    """Backchannel words recognised meanwhile, if any."""


class BargeIns:
    """Stopping the bot for one call: for good, or on hold until words decide."""

    def __init__(
        self,
        settings: InterruptionSettings,
        clock: Clock,
        bot: BotAudio,
        speaker: Speaker,
        emit: Callable[[CallEvent], None],
        on_quiet: Callable[[], Coroutine[Any, Any, None]],
        answers_each_utterance: bool = False,
        answer_grace: float = ANSWER_GRACE_S,
    ) -> None:
        """``on_quiet`` runs when a barge-in on hold is to resume (and calls `resume`);
        ``answers_each_utterance``: the recogniser answers every utterance, words or not."""
        self._settings = settings
        self._answers = answers_each_utterance
        self._answer_grace = answer_grace
        self._clock = clock
        self._bot = bot
        self._speaker = speaker
        self._emit = emit
        self._timer = Timer(clock, on_quiet)
        self._free = asyncio.Event()
        self._free.set()
        self.held: Held | None = None
        self._closed = False

    def listening_only(self, text: str, more_to_say: bool) -> bool:
        """Is ``text`` only backchannels over the bot's speech (its message on hold
        included)? Not over its closing question, where "yeah" answers; ``more_to_say``:
        further messages of the turn are still to be sent."""
        if self._settings.resume_after_ms <= 0 or not is_backchannel(self._settings, text):
            return False
        if self.held is not None:
            return not self.held.asking
        if more_to_say:
            return True
        return self._bot.playing and not self._bot.cut(self._clock.now()).asking

    async def stop(
        self,
        trigger: str,
        *,
        hold: CallState | None,
        onset_to_clear_ms: float | None,
        speaking: bool,
        more_to_say: bool,
    ) -> BargedIn | None:
        """Send ``clear``. For good (``hold`` None): the assistant's `BargedIn`, pending
        audio forgotten. On hold (``hold``: the state the call was in): keep everything and
        wait; ``speaking``: the caller's sound is still going on."""
        now = self._clock.now()
        if hold is None:
            heard, full = self._bot.interrupt(now)
        else:
            cut = self._bot.pause(now)
            heard, full = cut.heard, cut.full
            self._speaker.hold()
            asking = cut.asking and not more_to_say
            self.held = Held(trigger, cut, now, hold, asking, speaking, quiet_since=now)
            self._free.clear()
            self._schedule()
        await self._speaker.clear()
        self._emit(
            BargeIn(
                trigger=trigger,
                heard=heard,
                full=full,
                pending=hold is not None,
                onset_to_clear_ms=onset_to_clear_ms,
            )
        )
        return BargedIn(heard_text=heard, full_text=full) if hold is None else None

    def caller_spoke(self) -> None:
        """The caller makes sound again: no resuming while it lasts."""
        if self.held is not None:
            self.held.caller_speaking = True
            self._timer.cancel()

    def caller_quiet(self, lag: float) -> None:
        """The caller's sound ended ``lag`` seconds ago (an utterance for the recogniser)."""
        if self.held is not None:
            self.held.caller_speaking = False
            self.held.quiet_since = self._clock.now() - lag
            self.held.ended += 1
            self._schedule()

    def no_words(self) -> None:
        """The recogniser answered an utterance: no words in it."""
        if self.held is not None:
            self.held.answered += 1
            self._schedule()

    def took_backchannel(self, text: str, more_to_say: bool) -> bool:
        """A final transcript: if it is only backchannels over the bot (`listening_only`),
        it is no turn, and a barge-in on hold resumes as soon as the caller is quiet."""
        if not self.listening_only(text, more_to_say):
            return False
        self._emit(Backchannel(text=text))
        if self.held is not None:
            self.held.backchannel = text
            self.no_words()
        return True

    def _schedule(self) -> None:
        """(Re)arm the resume for when "no words" will be known (see the module's doc)."""
        held = self.held
        if held is None or held.caller_speaking:
            self._timer.cancel()
            return
        window = self._settings.resume_after_ms / 1000
        if held.backchannel or (self._answers and held.answered >= held.ended > 0):
            wait = 0.0  # the recogniser has spoken: no words
        elif self._answers and held.ended > held.answered:
            wait = window + self._answer_grace
        else:
            wait = window
        self._timer.start(max(0.0, held.quiet_since + wait - self._clock.now()))

    async def resume(self) -> CallState | None:
        """Send the held messages again from the cut, then let the rest follow; returns the
        state the call was in (None if it ended meanwhile)."""
        held = self._take()
        sent = 0
        for spoken, start in self._bot.replay(held.cut):
            sent += await self._speaker.replay(spoken, start)
        if self._closed:
            return None
        self._bot.sent(sent, self._clock.now())
        self._speaker.release()
        self._free.set()
        self._emit(
            BargeInResumed(
                reason="backchannel" if held.backchannel else "no_words",
                text=held.backchannel or "",
                message_id=held.cut.message_id,
                offset=held.cut.resume_at,
                held_ms=round((self._clock.now() - held.since) * 1000, 1),
            )
        )
        return held.paused_from

    def confirm(self, trigger: str) -> tuple[CallState, BargedIn]:
        """Words (or a key) made the held barge-in real: forget the messages; returns the
        state the call was in and what the assistant is to hear."""
        held = self._take()
        self._bot.abandon(self._clock.now())
        self._speaker.release()
        self._free.set()
        cut = held.cut
        self._emit(
            BargeInConfirmed(
                trigger=trigger,
                heard=cut.heard,
                full=cut.full,
                held_ms=round((self._clock.now() - held.since) * 1000, 1),
            )
        )
        return held.paused_from, BargedIn(heard_text=cut.heard, full_text=cut.full)

    async def settled(self) -> None:
        """Wait until no barge-in is on hold."""
        await self._free.wait()

    def close(self) -> None:
        """The call is over."""
        self._closed = True
        self._timer.cancel()
        self.held = None
        self._speaker.release()
        self._free.set()

    def _take(self) -> Held:
        held = self.held
        assert held is not None, "no barge-in on hold"
        self.held = None
        self._timer.cancel()
        return held
