"""What the bot is saying: the messages whose audio went out, the marks that came back, the
estimated end of play-out, and what the caller heard when they interrupted — or, for a
barge-in on hold, where to take the message up again."""

from __future__ import annotations

from dataclasses import dataclass

from telephonist.audio.formats import MULAW_BYTES_PER_MS
from telephonist.audio.pauses import find_pauses, phrase_start
from telephonist.call.heard import heard_text
from telephonist.call.speaker import Spoken
from telephonist.dialogue.turns import BotMessage
from telephonist.twilio.playback import Playback, PlayedMark

__all__ = ["BotAudio", "Cut"]

HEAD_MARGIN_MS = 150
"""The play head is estimated from what was sent and when; the caller's line plays a little
later than that, so a cut is placed this much earlier (never before the last echoed mark)."""


@dataclass(frozen=True, slots=True)
class Cut:
    """Where a barge-in stopped the bot: what the caller heard of the message playing (from
    the marks), and where to resume (``message_id`` from byte ``resume_at``)."""

    heard: str
    full: str
    message_id: int | None = None
    resume_at: int = 0
    asking: bool = False
    """The cut fell in the closing question of the newest message (its last phrase, and the
    text ends with "?"): a "yeah" there answers it."""


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
        heard, full = self._heard()
        self.abandon(now)
        return heard, full

    def cut(self, now: float) -> Cut:
        """Where the bot is now, and where it would resume: at the start of the phrase
        playing, found in its audio (see `telephonist.audio.pauses`). Changes nothing."""
        heard, full = self._heard()
        current = self.current()
        if current is None or current not in self._messages:
            return Cut(heard, full)
        ids = [i for i in self._messages if i >= current]
        unplayed = max(0.0, self.playout_end - now) * 1000 * MULAW_BYTES_PER_MS
        head = sum(self._messages[i][0].sent for i in ids) - unplayed
        head -= HEAD_MARGIN_MS * MULAW_BYTES_PER_MS
        head = max(head, self.playback.heard_bytes(current))
        for message_id in ids:
            spoken = self._messages[message_id][0]
            if head < spoken.sent or message_id == ids[-1]:
                break
            head -= spoken.sent
        pauses = find_pauses(spoken.kept())
        resume_at = phrase_start(pauses, int(head))
        tail = [begin for begin, end in pauses if begin > head and end < spoken.sent]
        asking = self._messages[message_id][1].text.rstrip().endswith("?")
        last = message_id == self._ids and spoken.complete and not tail
        return Cut(heard, full, message_id, resume_at, asking and last)

    def pause(self, now: float) -> Cut:
        """A barge-in on hold: Twilio drops what is queued (``clear``), and nothing is
        forgotten, so the messages can be sent again (`replay`)."""
        cut = self.cut(now)
        self.playback.cleared()
        self.playout_end = now
        return cut

    def replay(self, cut: Cut) -> list[tuple[Spoken, int]]:
        """What to send again to resume at ``cut``: each message from there on, with the byte
        to start from."""
        if cut.message_id is None:
            return []
        return [
            (spoken, cut.resume_at if message_id == cut.message_id else 0)
            for message_id, (spoken, _) in self._messages.items()
            if message_id >= cut.message_id
        ]

    def abandon(self, now: float) -> None:
        """Stop waiting for any pending audio (cleared, or its marks were lost)."""
        self.playback.cleared()
        self.playout_end = now
        for message_id in list(self._messages):
            self._forget(message_id)

    def _heard(self) -> tuple[str, str]:
        """(heard, full) text of the message playing, from the marks echoed."""
        current = self.current()
        if current is None or current not in self._messages:
            return "", ""
        spoken, message = self._messages[current]
        heard = heard_text(
            message.text, self.playback.heard_bytes(current), spoken.sent, spoken.complete
        )
        return heard, message.text

    def _forget(self, message_id: int) -> None:
        self._messages.pop(message_id, None)
        self.playback.forget(message_id)
