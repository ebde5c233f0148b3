"""Speaking one turn's messages in order: each one announced, synthesised and streamed, and
the first audio of each timed (the turn's latency is measured at the first one)."""

from __future__ import annotations

from collections.abc import Callable

from telephonist.call.bot_audio import BotAudio
from telephonist.call.clock import Clock
from telephonist.call.events import (
    BotAudioSent,
    BotMessageStarted,
    CallEvent,
    ErrorReported,
    TtsFirstByte,
)
from telephonist.call.speaker import Speaker, Spoken
from telephonist.call.turn_timing import TurnTiming
from telephonist.dialogue.turns import BotMessage
from telephonist.errors import ProtocolError, ProviderError
from telephonist.speech.tts.base import VoiceSpec

__all__ = ["Narrator"]


class Narrator:
    """Says a turn's messages through the `Speaker`; a failing voice is an error event and
    the next message is still tried."""

    def __init__(
        self,
        bot: BotAudio,
        timing: TurnTiming,
        clock: Clock,
        language: str,
        emit: Callable[[CallEvent], None],
    ) -> None:
        self.speaker: Speaker | None = None
        """Set by the session once built (the speaker reports audio sent back here)."""
        self._bot, self._timing, self._clock = bot, timing, clock
        self._language = language
        self._emit = emit

    async def say(self, messages: tuple[BotMessage, ...]) -> None:
        """Speak ``messages`` one after the other (cancelled by a barge-in)."""
        assert self.speaker is not None
        for message in messages:
            spoken = self._bot.new_message(message)
            self._emit(
                BotMessageStarted(
                    message_id=spoken.message_id,
                    text=message.text,
                    allow_interruptions=message.allow_interruptions,
                )
            )
            self._timing.tts_start = self._clock.now()
            spec = VoiceSpec(language=self._language, voice=message.voice, ssml=message.ssml)
            try:
                await self.speaker.speak(spoken, spec)
                self._emit(BotAudioSent(message_id=spoken.message_id, bytes=spoken.sent))
            except ProtocolError:  # the stream has stopped (the caller hung up): say no more
                return
            except ProviderError as exc:
                self._emit(
                    ErrorReported(
                        source="tts",
                        message=str(exc),
                        retryable=exc.retryable,
                        message_id=spoken.message_id,
                    )
                )

    def sent(self, spoken: Spoken, n_bytes: int) -> None:
        """The speaker sent ``n_bytes`` of ``spoken``: the first audio of a message is timed."""
        now = self._clock.now()
        self._bot.sent(n_bytes, now)
        if spoken.sent == n_bytes:  # first audio of this message
            tts_ms, latency = self._timing.first_audio(now)
            self._emit(TtsFirstByte(message_id=spoken.message_id, tts_ms=tts_ms))
            if latency is not None:
                self._emit(latency)
