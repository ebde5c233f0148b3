"""Sans-I/O pieces of the Deepgram stream: turn assembly and the replay buffer.

Deepgram finalises an utterance in segments (``is_final: true``) and marks the end of the
caller's turn with ``speech_final: true`` (its endpointer), ``from_finalize: true`` (our VAD
asked for a flush) or a separate ``UtteranceEnd`` message (its fallback when noise keeps the
endpointer from firing). One turn is every finalised segment up to that mark, joined.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telephonist.audio.formats import MULAW_BYTES_PER_MS
from telephonist.speech.asr.base import ASREvent, Final, Partial, SpeechStarted

__all__ = ["ReplayBuffer", "TurnAssembler"]

BYTES_PER_SECOND = MULAW_BYTES_PER_MS * 1000


class TurnAssembler:
    """Deepgram messages in, `ASREvent`s out; remembers the segments of the current turn."""

    def __init__(self) -> None:
        self._pieces: list[str] = []
        self._confidences: list[float] = []
        self._end = 0.0

    @property
    def pending(self) -> bool:
        """Whether finalised words are waiting for the end of the turn."""
        return bool(self._pieces)

    def reset(self) -> None:
        """Forget the current turn (its audio is about to be replayed on a new connection)."""
        self._pieces.clear()
        self._confidences.clear()
        self._end = 0.0

    def flush(self) -> Final | None:
        """End the turn now (the stream is closing): the pending words, if any."""
        if not self._pieces:
            return None
        final = Final(" ".join(self._pieces), self._confidence())
        self.reset()
        return final

    def feed(self, message: Mapping[str, Any]) -> tuple[list[ASREvent], float | None]:
        """Events for one message, and the audio time (s) a completed turn ends at, if any.

        Raises KeyError/TypeError/ValueError on a message without the documented shape.
        """
        kind = message.get("type")
        if kind == "SpeechStarted":
            return [SpeechStarted()], None
        if kind == "UtteranceEnd":
            end = float(message.get("last_word_end", self._end))
            final = self.flush()
            return ([final] if final else []), end
        if kind != "Results":
            return [], None
        alternative = message["channel"]["alternatives"][0]
        text = str(alternative.get("transcript", "")).strip()
        end = float(message.get("start", 0.0)) + float(message.get("duration", 0.0))
        if not message.get("is_final"):
            return ([Partial(" ".join([*self._pieces, text]))] if text else []), None
        if text:
            self._pieces.append(text)
            self._confidences.append(float(alternative.get("confidence", 0.0)))
            self._end = end
        if message.get("speech_final") or message.get("from_finalize"):
            final = self.flush()
            return ([final] if final else []), end
        return ([Partial(" ".join(self._pieces))] if text else []), None

    def _confidence(self) -> float | None:
        # The weakest segment bounds how sure we are of the whole turn.
        return min(self._confidences) if self._confidences else None


class ReplayBuffer:
    """The caller audio a new connection must hear again: everything after the last turn.

    Offsets are absolute byte counts since the call started. Bounded: past ``limit`` bytes the
    oldest audio is dropped (a reconnect then loses the start of a very long turn).
    """

    def __init__(self, limit: int) -> None:
        self._data = bytearray()
        self._start = 0
        self._limit = limit

    @property
    def start(self) -> int:
        """Absolute offset of the oldest byte held."""
        return self._start

    def __len__(self) -> int:
        return len(self._data)

    def append(self, audio: bytes) -> None:
        """Keep ``audio``, dropping the oldest bytes beyond the limit."""
        self._data += audio
        excess = len(self._data) - self._limit
        if excess > 0:
            del self._data[:excess]
            self._start += excess

    def trim_to(self, offset: int) -> None:
        """Drop everything before absolute ``offset`` (a turn ended there)."""
        count = min(max(offset - self._start, 0), len(self._data))
        del self._data[:count]
        self._start += count

    def snapshot(self) -> bytes:
        """The held audio, oldest first."""
        return bytes(self._data)
