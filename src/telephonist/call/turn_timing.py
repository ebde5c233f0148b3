"""The moments of a turn (caller stopped, ASR final, assistant done, TTS start, first audio)
and the latency record they make, with the assistant's wait for an LLM when it asked one.
Pure: the session passes in clock readings."""

from __future__ import annotations

from dataclasses import dataclass

from telephonist.call.events import TurnLatency

__all__ = ["TurnTiming", "ms"]


def ms(seconds: float) -> float:
    """Seconds to milliseconds, rounded for logs."""
    return round(seconds * 1000, 2)


@dataclass
class TurnTiming:
    """Clock readings of the turn in progress."""

    speech_end: float | None = None
    final: float | None = None
    assistant_done: float | None = None
    tts_start: float | None = None
    llm_ms: float | None = None  # the assistant's wait for a command generator's model

    def answered(self, now: float, llm_ms: float | None) -> None:
        """The assistant's turn is ready (``llm_ms``: how long of it the model took)."""
        self.assistant_done = now
        self.llm_ms = llm_ms

    def first_audio(self, now: float) -> tuple[float, TurnLatency | None]:
        """TTS time to first byte, and the turn's latency record if this audio answers a
        caller utterance (only once per utterance)."""
        tts_ms = ms(now - (self.tts_start if self.tts_start is not None else now))
        if self.final is None:
            return tts_ms, None
        final, self.final = self.final, None
        speech_end, self.speech_end = (self.speech_end or final), None
        done = self.assistant_done if self.assistant_done is not None else now
        record = TurnLatency(
            speech_end_to_audio_ms=ms(now - speech_end),
            final_to_audio_ms=ms(now - final),
            assistant_ms=ms(done - final),
            tts_first_byte_ms=tts_ms,
            llm_ms=self.llm_ms,
        )
        return tts_ms, record
