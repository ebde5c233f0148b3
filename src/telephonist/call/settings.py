"""Per-call behaviour settings, derived from the channel config and the assistant's language."""

from __future__ import annotations

from dataclasses import dataclass, field

from telephonist.config.channel import DEFAULT_SILENCE_TIMEOUT, ChannelConfig, InterruptionSettings
from telephonist.config.phrases import CallPhrases
from telephonist.config.turn import TurnSettings

__all__ = ["CallSettings"]


@dataclass(frozen=True)
class CallSettings:
    """What a `CallSession` needs to know besides its collaborators."""

    language: str = "en"
    monitor_silence: bool = False
    silence_timeout: float = DEFAULT_SILENCE_TIMEOUT
    dtmf_timeout: float = 3.0
    interruptions: InterruptionSettings = field(default_factory=InterruptionSettings)
    vad_threshold: float = 0.5
    min_silence_ms: int = 500
    turn: TurnSettings = field(default_factory=TurnSettings)
    """The end-of-turn rule; its model applies only to a session given a turn scorer."""
    playout_grace: float = 2.0
    """Seconds past the estimated end of play-out before missing mark echoes are given up on."""
    asr_failure_message: str = CallPhrases.asr_failure
    """Said before hanging up when speech recognition is lost for good."""
    transfer_failure_message: str = CallPhrases.transfer_failed
    """Said when Twilio refuses a transfer: the call stays with the bot."""

    @classmethod
    def from_channel(
        cls, channel: ChannelConfig, language: str, model_threshold: float = 0.5
    ) -> CallSettings:
        """Settings for calls on ``channel`` with an assistant speaking ``language``;
        ``model_threshold`` applies when the channel sets no VAD threshold."""
        return cls(
            language=language,
            monitor_silence=channel.monitor_silence,
            silence_timeout=channel.silence_timeout,
            dtmf_timeout=channel.dtmf_timeout,
            interruptions=channel.interruptions,
            vad_threshold=channel.vad.threshold or model_threshold,
            min_silence_ms=channel.vad.min_silence_ms,
            turn=channel.turn,
            asr_failure_message=channel.phrases.asr_failure,
            transfer_failure_message=channel.phrases.transfer_failed,
        )
