"""The channel's ``phrases:`` block: what the call says on its own, in the assistant's
language; errors name the key."""

from __future__ import annotations

import pytest
from tests.call.harness import RecordingControl, make_call, play_until
from tests.call.test_session import FailingASR
from tests.config.channels import channel_with

from telephonist.call.settings import CallSettings
from telephonist.config.channel import ChannelConfig
from telephonist.config.phrases import CallPhrases
from telephonist.errors import ConfigError


def channel(phrases: object) -> ChannelConfig:
    """Parse a minimal block with ``phrases``."""
    return channel_with("phrases", phrases)


def test_defaults_and_overrides_reach_the_call_settings():
    assert channel(...).phrases == channel(None).phrases == CallPhrases()
    german = channel({"asr_failure": "Entschuldigung, ich höre Sie nicht. Auf Wiederhören."})
    settings = CallSettings.from_channel(german, "de")
    assert settings.asr_failure_message == "Entschuldigung, ich höre Sie nicht. Auf Wiederhören."
    assert settings.transfer_failure_message == CallPhrases().transfer_failed


@pytest.mark.parametrize(
    "phrases, key",
    [
        ({"goodbye": "Bye"}, "phrases.goodbye"),
        ({"asr_failure": ""}, "phrases.asr_failure"),
        ({"transfer_failed": 42}, "phrases.transfer_failed"),
        ({"transfer_failed": "x" * 501}, "phrases.transfer_failed"),
        (["asr_failure"], "phrases"),
    ],
)
def test_bad_phrases_are_refused_naming_the_key(phrases: object, key: str):
    with pytest.raises(ConfigError) as error:
        channel(phrases)
    assert f"twilio_media_streams.{key}" in str(error.value)
    assert "credentials.yml" in str(error.value)


async def test_a_call_says_the_configured_phrase_when_recognition_is_lost():
    """The session takes the phrase from the channel: the caller hears it, then the hang-up."""
    phrase = "Lo siento, no le oigo. Adiós."
    settings = CallSettings.from_channel(channel({"asr_failure": phrase}), "es")
    control = RecordingControl()
    call = make_call(asr=FailingASR(), control=control, settings=settings)
    await call.session.open()
    await play_until(call.session, call.transport, lambda: call.session.end_reason is not None)
    assert phrase in call.tts.requests
    assert control.calls == [("hang_up", "CA1")]
