"""Barge-ins on hold: the bot stopped at the caller's sound, and words decide what follows.

The ``clear`` goes out exactly when it always did (``min_speech_ms`` of speech), so a real
interruption is heard at once. But until words are recognised the message is kept, not
forgotten: synthesis goes on unsent, and the assistant hears nothing yet. Then

* words that are not all backchannels, or a keypress, **confirm** it: the message is dropped
  and the assistant gets `BargedIn` with what the caller had heard (as for any barge-in);
* a caller quiet for ``resume_after_ms`` with no words (a cough, a door, a "mm-hm") **resumes**
  it: the bot takes the message up again at the start of the phrase it was cut in (the
  pause before it, found in the audio already sent), then goes on where it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telephonist.call.bot_audio import BotAudio, Cut
from telephonist.call.clock import Clock, Timer
from telephonist.call.events import EventKind
from telephonist.call.interruptions import is_backchannel
from telephonist.call.speaker import Speaker
from telephonist.call.state import CallState
from telephonist.config.channel import InterruptionSettings
from telephonist.dialogue.turns import BargedIn

__all__ = ["BargeIns", "Held"]


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
        emit: Callable[..., Any],
        on_quiet: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        """``on_quiet`` runs when a barge-in on hold is to resume (and calls `resume`)."""
        self._settings = settings
        self._clock = clock
        self._bot = bot
        self._speaker = speaker
        self._emit = emit
        self._timer = Timer(clock, on_quiet)
        self._free = asyncio.Event()
        self._free.set()
        self.held: Held | None = None

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
            self.held = Held(trigger, cut, now, hold, asking, speaking)
            self._free.clear()
            if not speaking:
                self._timer.start(self._settings.resume_after_ms / 1000)
        await self._speaker.clear()
        reaction = {} if onset_to_clear_ms is None else {"onset_to_clear_ms": onset_to_clear_ms}
        self._emit(
            EventKind.BARGE_IN,
            trigger=trigger,
            heard=heard,
            full=full,
            pending=hold is not None,
            **reaction,
        )
        return BargedIn(heard_text=heard, full_text=full) if hold is None else None

    def caller_spoke(self) -> None:
        """The caller makes sound again: no resuming while it lasts."""
        if self.held is not None:
            self.held.caller_speaking = True
            self._timer.cancel()

    def caller_quiet(self, lag: float) -> None:
        """The caller's sound ended ``lag`` seconds ago: resume after ``resume_after_ms`` of
        quiet unless words come."""
        if self.held is not None:
            self.held.caller_speaking = False
            self._timer.start(max(0.0, self._settings.resume_after_ms / 1000 - lag))

    def backchannel(self, text: str) -> None:
        """Only backchannel words were recognised: not a turn; a barge-in on hold resumes as
        soon as the caller is quiet."""
        self._emit(EventKind.BACKCHANNEL, text=text)
        if self.held is not None:
            self.held.backchannel = text
            if not self.held.caller_speaking:
                self._timer.start(0)

    async def resume(self) -> CallState:
        """Send the held messages again from the cut, then let the rest follow; returns the
        state the call was in."""
        held = self._take()
        sent = 0
        for spoken, start in self._bot.replay(held.cut):
            sent += await self._speaker.replay(spoken, start)
        self._bot.sent(sent, self._clock.now())
        self._speaker.release()
        self._free.set()
        self._emit(
            EventKind.BARGE_IN_RESUMED,
            reason="backchannel" if held.backchannel else "no_words",
            text=held.backchannel or "",
            message_id=held.cut.message_id,
            offset=held.cut.resume_at,
            held_ms=round((self._clock.now() - held.since) * 1000, 1),
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
            EventKind.BARGE_IN_CONFIRMED,
            trigger=trigger,
            heard=cut.heard,
            full=cut.full,
            held_ms=round((self._clock.now() - held.since) * 1000, 1),
        )
        return held.paused_from, BargedIn(heard_text=cut.heard, full_text=cut.full)

    async def settled(self) -> None:
        """Wait until no barge-in is on hold."""
        await self._free.wait()

    def close(self) -> None:
        """The call is over."""
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
