"""What the bot is saying: the messages whose audio went out, the marks that came back, the
estimated end of play-out, and what the caller heard when they interrupted."""

from __future__ import annotations

from telephonist.audio.formats import MULAW_BYTES_PER_MS
from telephonist.call.heard import heard_text
from telephonist.call.speaker import Spoken
from telephonist.dialogue.turns import BotMessage
from telephonist.twilio.playback import Playback, PlayedMark

__all__ = ["BotAudio"]


class BotAudio:
    """Bot speech bookkeeping for one call (no I/O, no clock of its own)."""

    def __init__(self) -> None:
        self.playback = Playback()
        self.playout_end = 0.0
        """Clock time when the audio sent so far should have finished playing."""
        self._messages: dict[int, tuple[Spoken, BotMessage]] = {}
        self._ids = 0

    @property
    def playing(self) -> bool:
        """Some audio we sent has not been confirmed played."""
        return self.playback.playing

    def new_message(self, message: BotMessage) -> Spoken:
        """Start tracking a message about to be spoken."""
        self._ids += 1
        spoken = Spoken(self._ids, message.text)
        self._messages[spoken.message_id] = (spoken, message)
        return spoken

    def sent(self, n_bytes: int, now: float) -> None:
        """``n_bytes`` more audio went out at ``now``."""
        self.playout_end = max(self.playout_end, now) + n_bytes / MULAW_BYTES_PER_MS / 1000

    def current(self) -> int | None:
        """The message playing now, or else the one being sent (before its first mark)."""
        playing = self.playback.current_message()
        return (
            playing if playing is not None else (self._ids if self._ids in self._messages else None)
        )

    def interruptible(self) -> bool:
        """May the message playing now be interrupted?"""
        current = self.current()
        entry = self._messages.get(current) if current is not None else None
        return entry is None or entry[1].allow_interruptions

    def echoed(self, name: str) -> PlayedMark | None:
        """A mark came back; a final one retires its message."""
        played = self.playback.echoed(name)
        if played is not None and played.final:
            self._forget(played.message_id)
        return played

    def interrupt(self, now: float) -> tuple[str, str]:
        """The caller barged in: forget everything pending; returns (heard, full) text of the
        message that was playing."""
        current = self.current()
        heard, full = "", ""
        if current is not None and current in self._messages:
            spoken, message = self._messages[current]
            full = message.text
            heard = heard_text(
                full, self.playback.heard_bytes(current), spoken.sent, spoken.complete
            )
        self.abandon(now)
        return heard, full

    def abandon(self, now: float) -> None:
        """Stop waiting for any pending audio (cleared, or its marks were lost)."""
        self.playback.cleared()
        self.playout_end = now
        for message_id in list(self._messages):
            self._forget(message_id)

    def _forget(self, message_id: int) -> None:
        self._messages.pop(message_id, None)
        self.playback.forget(message_id)
