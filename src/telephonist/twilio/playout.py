"""Twilio's outbound buffer, modelled: audio and marks in one FIFO, played at 8 bytes/ms.

Pure and clock-free: the owner says how many milliseconds were played. A mark is echoed when
playback reaches it (at once if the buffer is empty); ``clear`` drops the audio and echoes
every pending mark at once, as Twilio does. The simulator plays its caller's audio out of it;
the call recorder replays what the server sent through it, to place the bot's audio where
the caller heard it.
"""

from __future__ import annotations

from collections import deque

from telephonist.audio.formats import MULAW_BYTES_PER_MS

__all__ = ["Playout"]


class Playout:
    """The bot-audio queue of one simulated call."""

    def __init__(self, *, keep_played: bool = True) -> None:
        self._queue: deque[bytes | str] = deque()  # bytes = audio, str = mark name
        self.keep_played = keep_played
        self.played = bytearray()
        """Everything the caller has heard, in order (unless ``keep_played`` is False)."""
        self.cleared_bytes = 0

    @property
    def buffered_bytes(self) -> int:
        """Audio queued and not yet played."""
        return sum(len(item) for item in self._queue if isinstance(item, bytes))

    def add_audio(self, mulaw: bytes) -> None:
        """Queue bot audio."""
        if mulaw:
            self._queue.append(mulaw)

    def add_mark(self, name: str) -> list[str]:
        """Queue a mark; returns it at once if nothing is buffered ahead of it."""
        self._queue.append(name)
        return self.play(0)

    def play(self, ms: float) -> list[str]:
        """Play ``ms`` of audio; returns the marks reached, in order."""
        return self.take(ms)[1]

    def take(self, ms: float) -> tuple[bytes, list[str]]:
        """Play ``ms`` of audio; returns what was played and the marks reached, in order."""
        budget = int(ms * MULAW_BYTES_PER_MS)
        heard = bytearray()
        reached: list[str] = []
        while self._queue:
            head = self._queue[0]
            if isinstance(head, str):
                reached.append(head)
                self._queue.popleft()
                continue
            if budget <= 0:
                break
            take = min(budget, len(head))
            heard += head[:take]
            budget -= take
            if take == len(head):
                self._queue.popleft()
            else:
                self._queue[0] = head[take:]
        if self.keep_played:
            self.played += heard
        return bytes(heard), reached

    def clear(self) -> list[str]:
        """Drop queued audio; returns every pending mark (echoed at once, though unheard)."""
        marks = [item for item in self._queue if isinstance(item, str)]
        self.cleared_bytes += self.buffered_bytes
        self._queue.clear()
        return marks
