"""CallSession with an in-memory transport: failures of providers, transfer, ending once."""

from __future__ import annotations

import pytest
from tests.call.harness import RecordingControl, make_session, play_until, wait_for
from tests.fakes.scripted import ScriptedASR, ScriptedAssistant, ScriptedTTS

from telephonist.call.events import ErrorReported, Transferred
from telephonist.call.settings import CallSettings
from telephonist.dialogue.turns import AssistantTurn, BotMessage, SessionEnd, SessionStart
from telephonist.errors import ProviderError
from telephonist.speech.asr.base import ASRCapabilities, ASRError


class FailingASR:
    """A provider whose connection cannot be opened."""

    capabilities = ASRCapabilities()

    async def warm_up(self) -> None:
        """Nothing to prepare."""

    async def open_stream(self, language: str):
        raise ProviderError("fake", "connection refused", retryable=False)

    async def aclose(self) -> None:
        """Nothing to release."""


async def test_failed_message_is_skipped_and_the_next_is_spoken():
    """A TTS error on one message is an event; the following message still plays."""
    assistant = ScriptedAssistant(
        respond=lambda e: (
            AssistantTurn(messages=(BotMessage("broken"), BotMessage("works fine")))
            if isinstance(e, SessionStart)
            else None
        )
    )
    tts = ScriptedTTS(fail_texts={"broken"})
    session, transport, events = make_session(assistant, tts=tts)
    await session.open()
    await wait_for(lambda: "mark" in transport.kinds())
    errors = [e for e in events if isinstance(e, ErrorReported)]
    assert [e.source for e in errors] == ["tts"]
    assert tts.requests == ["broken", "works fine"]
    assert transport.kinds()[0] == "media"
    await session.end("test over")


async def test_asr_that_cannot_connect_leads_to_an_apology_and_hang_up():
    """No recognition at all: the caller hears an apology and the call ends, not dead air."""
    control = RecordingControl()
    tts = ScriptedTTS()
    session, transport, events = make_session(asr=FailingASR(), tts=tts, control=control)
    await session.open()
    await play_until(session, transport, lambda: session.end_reason is not None)
    assert CallSettings().asr_failure_message in tts.requests
    assert control.calls == [("hang_up", "CA1")]
    assert session.end_reason == "bot hung up"
    assert [e.source for e in events if isinstance(e, ErrorReported)] == ["asr"]


async def test_fatal_asr_error_mid_call_apologises():
    """A non-retryable ASR error after the start also ends the call politely."""
    asr = ScriptedASR()
    tts = ScriptedTTS()
    session, transport, _ = make_session(asr=asr, tts=tts)
    await session.open()
    await wait_for(lambda: bool(asr.streams))
    asr.streams[0].inject(ASRError("gone", retryable=False))
    await play_until(session, transport, lambda: session.end_reason is not None)
    assert tts.requests[-1] == CallSettings().asr_failure_message
    assert transport.closed


@pytest.mark.parametrize("with_control", [True, False])
async def test_transfer_uses_call_control_or_hangs_up(with_control):
    """A transfer goes through REST when possible; without credentials the call ends."""
    assistant = ScriptedAssistant(
        respond=lambda e: (
            AssistantTurn(transfer_to="+15550001111") if isinstance(e, SessionStart) else None
        )
    )
    control = RecordingControl() if with_control else None
    session, transport, _ = make_session(assistant, control=control)
    await session.open()
    if control is not None:
        await wait_for(lambda: bool(control.calls))
        assert control.calls == [("transfer", "CA1", "+15550001111")]
        assert session.end_reason is None
    else:
        await wait_for(lambda: session.end_reason is not None)
        assert transport.closed
    await session.end("done")


class FailingControl(RecordingControl):
    """Twilio refuses the call update."""

    async def transfer(self, call_sid: str, number: str) -> None:
        await super().transfer(call_sid, number)
        raise ProviderError("twilio", "call update failed: HTTP 400 (code 21213)", retryable=False)


@pytest.mark.parametrize("control", [RecordingControl(), FailingControl()], ids=["ok", "refused"])
async def test_a_transfer_is_reported_only_once_twilio_took_it(control):
    """`Transferred` (the transcript's ``transferred_to``) only when Twilio took the update;
    a refused one is an error, and the bot tells the caller, who stays with it."""
    assistant = ScriptedAssistant(
        respond=lambda e: (
            AssistantTurn(transfer_to="+15550001111") if isinstance(e, SessionStart) else None
        )
    )
    tts = ScriptedTTS()
    session, _, events = make_session(assistant, tts=tts, control=control)
    await session.open()
    await wait_for(lambda: bool(control.calls))
    await wait_for(lambda: any(isinstance(e, Transferred | ErrorReported) for e in events))
    transferred = [e.to for e in events if isinstance(e, Transferred)]
    errors = [e.source for e in events if isinstance(e, ErrorReported)]
    refused = isinstance(control, FailingControl)
    assert (transferred, errors) == (([], ["twilio"]) if refused else (["+15550001111"], []))
    if refused:
        await wait_for(lambda: CallSettings().transfer_failure_message in tts.requests)
    else:
        assert CallSettings().transfer_failure_message not in tts.requests
    assert session.end_reason is None
    await session.end("done")


async def test_end_is_reported_once():
    """end() twice tells the assistant once."""
    assistant = ScriptedAssistant()
    session, _, _ = make_session(assistant)
    await session.open()
    await session.end("caller hung up")
    await session.end("stream closed")
    assert assistant.of_type(SessionEnd) == [SessionEnd("caller hung up")]
