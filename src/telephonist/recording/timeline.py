"""One call's two tracks on the caller's time line, as the caller heard them.

Twilio streams the caller's audio in real time, so the caller's frames are the clock:
position n is the n-th byte (1/8 ms) of caller audio received. The bot's audio goes out
faster than real time; Twilio buffers it and plays it at 8 bytes/ms. The timeline replays what
the server sent (audio, marks, ``clear``) through a model of that buffer (`Playout`), each
message taking effect one delay after it was sent. The delay is what the echo of a burst's
first mark proves: playback reached the mark when the echo arrived, so the burst began that
many bytes of audio earlier. A ``clear`` cuts the bot track where the caller stopped hearing,
which the echoes of the marks it dropped date the same way.

The replay runs ``HOLD_BYTES`` behind the caller, so that echo is in before its burst is
placed. Paused spans (sensitive input) come out as silence on both tracks. Pure: no clock,
no I/O, and nothing per frame but an append.
"""

from __future__ import annotations

import itertools
from collections import deque

from telephonist.audio.formats import MULAW_BYTES_PER_MS
from telephonist.twilio.playout import Playout

__all__ = ["HOLD_BYTES", "STEP_BYTES", "Timeline"]

HOLD_BYTES = 1000 * MULAW_BYTES_PER_MS
"""How far the replay stays behind the caller: a mark comes every 500 ms of audio, and its
echo one round trip later."""
STEP_BYTES = 500 * MULAW_BYTES_PER_MS
"""Tracks are taken in steps of this much audio (or more)."""
MAX_LAG_BYTES = 2000 * MULAW_BYTES_PER_MS
"""A delay longer than this is a stalled echo, not the network."""
MAX_PENDING_BYTES = 120_000 * MULAW_BYTES_PER_MS
"""Bot audio sent ahead and not yet replayed (two minutes); more is dropped, not kept."""
ANCHOR_SCAN = 64
"""Messages looked at, ahead of a burst, for the mark that dates it."""
_SILENCE = b"\xff"


class _Clear:
    """A ``clear`` sent; ``heard_at``: where the caller stopped hearing the bot, proven by
    the first echo of a mark it dropped (Twilio echoes those the moment it clears)."""

    __slots__ = ("heard_at",)

    def __init__(self) -> None:
        self.heard_at: int | None = None


Sent = bytes | str | _Clear
"""Audio, a mark's name, or a ``clear``."""


class Timeline:
    """Caller audio by arrival; bot audio placed when Twilio played it."""

    def __init__(self) -> None:
        self.position = 0
        """Caller bytes received: the line's clock."""
        self.done = 0
        """Both tracks have been taken up to here."""
        self.dropped_bytes = 0
        """Bot audio not kept because too much was pending."""
        self._caller = bytearray()
        self._sent: deque[tuple[int, Sent]] = deque()
        self._pending = 0
        self._playout = Playout(keep_played=False)
        self._lag = 0
        self._echoes: dict[str, int] = {}
        self._outstanding: set[str] = set()
        self._cleared: dict[str, _Clear] = {}
        self._pauses: list[tuple[int, int]] = []
        self._paused_at: int | None = None
        self._next_take = HOLD_BYTES + STEP_BYTES

    # -- what crosses the wire --------------------------------------------------------------

    def caller(self, mulaw: bytes) -> bool:
        """A frame of caller audio arrived (the hot path); True when a step is `due`."""
        self._caller += mulaw
        self.position += len(mulaw)
        return self.position >= self._next_take

    def sent_audio(self, mulaw: bytes) -> None:
        """The server sent bot audio."""
        if self._pending + len(mulaw) > MAX_PENDING_BYTES:
            self.dropped_bytes += len(mulaw)
            return
        self._pending += len(mulaw)
        self._sent.append((self.position, mulaw))

    def sent_mark(self, name: str) -> None:
        """The server sent a mark."""
        self._outstanding.add(name)
        self._sent.append((self.position, name))

    def sent_clear(self) -> None:
        """The server sent ``clear``: the echoes of pending marks prove where it took effect,
        not what was played."""
        clear = _Clear()
        self._cleared.update(dict.fromkeys(self._outstanding, clear))
        self._outstanding.clear()
        self._sent.append((self.position, clear))

    def echoed(self, name: str) -> None:
        """Twilio echoed a mark: playback reached it now, or a clear stopped playback now."""
        clear = self._cleared.pop(name, None)
        if clear is not None:
            if clear.heard_at is None:
                clear.heard_at = self.position
        elif name in self._outstanding:
            self._outstanding.discard(name)
            self._echoes[name] = self.position

    # -- pausing ----------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        """Both tracks are silenced from now on, until `resume`."""
        return self._paused_at is not None

    def pause(self) -> None:
        """Silence both tracks from now."""
        if self._paused_at is None:
            self._paused_at = self.position

    def resume(self) -> None:
        """Record again from now."""
        if self._paused_at is not None:
            self._pauses.append((self._paused_at, self.position))
            self._paused_at = None

    # -- taking the tracks ------------------------------------------------------------------

    @property
    def due(self) -> bool:
        """Enough has arrived to take a step of both tracks."""
        return self.position >= self._next_take

    def take(self, *, final: bool = False) -> tuple[bytes, bytes]:
        """Caller and bot audio (mu-law, equal lengths) from ``done`` up to ``HOLD_BYTES``
        behind the caller, or up to the caller when ``final`` (what was still queued after
        that was never heard)."""
        target = self.position if final else self.position - HOLD_BYTES
        start = self.done
        if target <= start:
            return b"", b""
        bot = self._replay(start, target)
        caller = self._caller[: target - start]
        del self._caller[: target - start]
        self.done = target
        self._next_take = target + HOLD_BYTES + STEP_BYTES
        return self._silence_pauses(start, caller, bot)

    def _replay(self, start: int, target: int) -> bytearray:
        bot = bytearray()
        while self._sent:
            raw, item = self._sent[0]
            if isinstance(item, bytes) and not self._playout.buffered_bytes:
                self._anchor()
            at = start + len(bot)
            if isinstance(item, _Clear) and item.heard_at is not None:
                self._lag = min(max(item.heard_at - raw, 0), MAX_LAG_BYTES)
            due = max(raw + self._lag, at)
            if due > target:
                break
            self._play(bot, due - at)
            self._sent.popleft()
            if isinstance(item, bytes):
                self._pending -= len(item)
                self._playout.add_audio(item)
            elif isinstance(item, _Clear):
                self._playout.clear()
            else:
                self._echoes.pop(item, None)
                self._playout.add_mark(item)
        self._play(bot, target - start - len(bot))
        return bot

    def _play(self, bot: bytearray, n_bytes: int) -> None:
        if n_bytes <= 0:
            return
        heard, _ = self._playout.take(n_bytes / MULAW_BYTES_PER_MS)
        bot += heard
        if len(heard) < n_bytes:
            bot += _SILENCE * (n_bytes - len(heard))

    def _anchor(self) -> None:
        """A burst starts (audio into an idle buffer): date it by the echo of its first mark,
        when that echo is in and the burst's audio went out faster than it plays."""
        first = self._sent[0][0]
        ahead = 0
        for raw, item in itertools.islice(self._sent, ANCHOR_SCAN):
            if isinstance(item, _Clear):
                return  # cleared before a mark: nothing proves when it played
            if isinstance(item, bytes):
                if raw > first + ahead:
                    return  # sent after the audio before it had played: there was a gap
                ahead += len(item)
                continue
            echo = self._echoes.get(item)
            if echo is not None:
                self._lag = min(max(echo - ahead - first, 0), MAX_LAG_BYTES)
            return

    def _silence_pauses(self, start: int, caller: bytearray, bot: bytearray) -> tuple[bytes, bytes]:
        spans = list(self._pauses)
        if self._paused_at is not None:
            spans.append((self._paused_at, self.done))
        for begin, end in spans:
            lo, hi = max(begin, start) - start, min(end, self.done) - start
            if hi > lo:
                caller[lo:hi] = _SILENCE * (hi - lo)
                bot[lo:hi] = _SILENCE * (hi - lo)
        self._pauses = [(b, e) for b, e in self._pauses if e > self.done]
        return bytes(caller), bytes(bot)
