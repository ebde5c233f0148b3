"""The narrator: messages in order, and a stream that stops under it (the caller hung up)."""

from __future__ import annotations

from typing import Any, cast

from tests.fakes.clock import VirtualClock

from telephonist.call.bot_audio import BotAudio
from telephonist.call.events import BotMessageStarted, CallEvent
from telephonist.call.narrator import Narrator
from telephonist.call.speaker import Speaker, Spoken
from telephonist.call.turn_timing import TurnTiming
from telephonist.dialogue.turns import BotMessage
from telephonist.errors import ProtocolError
from telephonist.speech.tts.base import VoiceSpec


class StoppedStream:
    """A speaker whose stream has stopped after its first message."""

    def __init__(self) -> None:
        self.spoken: list[str] = []

    async def speak(self, spoken: Spoken, spec: VoiceSpec) -> None:
        self.spoken.append(spoken.text)
        if len(self.spoken) > 1:
            raise ProtocolError("cannot send while stopped")


async def test_a_stream_that_stopped_ends_the_turn_quietly() -> None:
    """Once the caller has hung up, the rest of the turn is not said and nothing is raised
    (a raise here was an exception no task retrieved)."""
    events: list[CallEvent] = []
    narrator = Narrator(BotAudio(), TurnTiming(), VirtualClock(), "en", events.append)
    speaker = StoppedStream()
    narrator.speaker = cast(Speaker, cast(Any, speaker))
    await narrator.say((BotMessage("one"), BotMessage("two"), BotMessage("three")))
    assert speaker.spoken == ["one", "two"]
    assert [e.text for e in events if isinstance(e, BotMessageStarted)] == ["one", "two"]
