"""Turn-taking of one session in virtual time: its states, barge-in, silence and DTMF, with
synthetic audio (the energy VAD hears a tone as speech) and scripted providers."""

from __future__ import annotations

from dataclasses import replace

from tests.call.harness import Call, RecordingControl, make_call
from tests.fakes.scripted import ScriptedASR, ScriptedAssistant, spoken_length

from telephonist.call.events import BargeIn, EventKind, MarkPlayed, SilenceTimeout
from telephonist.call.heard import heard_text
from telephonist.call.settings import CallSettings
from telephonist.call.state import CallState
from telephonist.dialogue.turns import (
    AssistantTurn,
    BargedIn,
    BotMessage,
    CollectDtmf,
    SessionStart,
    Silence,
    UserEvent,
    UserText,
)

GREETING = ScriptedAssistant().greeting
SILENT = CallSettings(monitor_silence=True, silence_timeout=5.0)


async def greeted(call: Call) -> None:
    """Open the call and wait until the whole greeting is sent (not yet heard)."""
    await call.session.open()
    await call.until(lambda: call.session.state is CallState.PLAYING)


async def test_states_follow_the_turn() -> None:
    """Responding while the assistant answers, playing until the last mark is echoed, then the
    caller's turn; a reply to the caller's words goes the same way."""
    call = make_call(asr=ScriptedASR(["hello"]))
    await call.session.open()
    assert call.session.state is CallState.LISTENING  # SessionStart is queued
    await call.until(lambda: call.session.state is not CallState.LISTENING)
    assert call.session.state is CallState.RESPONDING  # type: ignore[comparison-overlap]
    await call.until(lambda: call.session.state is CallState.PLAYING)
    assert call.transport.kinds()[-1] == "mark"
    await call.hear()
    assert call.session.state is CallState.LISTENING
    assert len(call.of_kind(EventKind.PLAYBACK_DONE)) == 1
    await call.speak(400)
    await call.pause(500)  # the VAD's end of speech: the scripted ASR's final
    await call.until(lambda: call.session.state is CallState.PLAYING)
    assert call.assistant.of_type(UserText) == [UserText("hello", "speech", 0.9)]
    assert call.tts.requests == [GREETING, "You said hello"]
    await call.hear()
    assert call.session.state is CallState.LISTENING
    await call.session.end("caller hung up")
    assert call.session.state is CallState.ENDED


async def test_speech_over_bot_audio_barges_in_after_min_speech_ms() -> None:
    """Caller speech stops the bot once it has lasted interruptions.min_speech_ms (200 ms of
    audio, whatever the clock says); once words confirm it, the assistant learns what was
    heard up to the echoed mark."""
    call = make_call(asr=ScriptedASR(["stop please"]))
    await greeted(call)
    await call.hear(marks=1)
    offset = call.of_kind(MarkPlayed)[0].offset
    await call.pause(100)
    await call.speak(180)
    assert "clear" not in call.transport.kinds() and not call.of_kind(EventKind.BARGE_IN)
    await call.speak(20)
    assert call.transport.kinds()[-1] == "clear"
    (barge_in,) = call.of_kind(BargeIn)
    heard = heard_text(GREETING, offset, spoken_length(GREETING), True)
    assert heard and GREETING.startswith(heard) and heard != GREETING
    assert barge_in.fields_dict() == {
        "trigger": "speech",
        "heard": heard,
        "full": GREETING,
        "pending": True,
        "onset_to_clear_ms": 200.0,
    }
    await call.speak(1000)  # the same utterance goes on: it does not barge in again
    assert len(call.of_kind(EventKind.BARGE_IN)) == 1
    await call.pause(500)  # its words confirm the barge-in
    await call.until(lambda: bool(call.assistant.of_type(UserText)))
    assert call.assistant.of_type(BargedIn) == [BargedIn(heard, GREETING)]


async def test_speech_does_not_interrupt_a_message_that_forbids_it() -> None:
    """allow_interruptions: false holds against speech and keys alike."""

    def respond(event: UserEvent) -> AssistantTurn | None:
        if isinstance(event, SessionStart):
            return AssistantTurn(messages=(BotMessage(GREETING, allow_interruptions=False),))
        return None

    call = make_call(assistant=ScriptedAssistant(respond=respond))
    await greeted(call)
    await call.speak(1000)
    await call.session.dtmf("1")
    assert "clear" not in call.transport.kinds() and not call.of_kind(EventKind.BARGE_IN)
    assert call.session.state in (CallState.PLAYING, CallState.RESPONDING)
    await call.until(lambda: bool(call.assistant.of_type(UserText)))
    assert call.assistant.of_type(UserText) == [UserText("1", source="dtmf")]


async def test_a_keypress_interrupts_at_once_and_is_the_callers_turn() -> None:
    """A key over bot audio clears it without waiting for min_speech_ms; the key itself then
    reaches the assistant, after the barge-in."""
    call = make_call()
    await greeted(call)
    await call.session.dtmf("5")
    assert call.transport.kinds()[-1] == "clear"
    (barge_in,) = call.of_kind(BargeIn)
    assert barge_in.trigger == "dtmf" and barge_in.onset_to_clear_ms is None
    await call.until(lambda: bool(call.assistant.of_type(UserText)))
    kinds = [type(event) for _, event in call.assistant.events]
    assert kinds == [SessionStart, BargedIn, UserText]
    assert call.assistant.of_type(UserText) == [UserText("5", source="dtmf")]


async def test_silence_is_timed_only_in_the_callers_turn() -> None:
    """The timer runs from the last echoed mark, stops while the caller speaks, restarts when
    they stop, and counts timeouts until the caller says something."""
    call = make_call(asr=ScriptedASR([]), settings=SILENT)
    await greeted(call)
    await call.clock.advance(3.9)  # unheard audio is not the caller's turn
    await call.hear()
    await call.clock.advance(4.9)
    assert not call.assistant.of_type(Silence)
    await call.speak(200)  # speech begins: no timer while it lasts, however long
    await call.clock.advance(10)
    assert not call.assistant.of_type(Silence)
    await call.pause(500)  # the end of speech (no words recognised) restarts it
    await call.clock.advance(4.9)
    assert not call.assistant.of_type(Silence)
    await call.clock.advance(0.2)
    await call.until(lambda: bool(call.assistant.of_type(Silence)))
    (event,) = call.of_kind(SilenceTimeout)
    assert event.fields_dict() == {"consecutive": 1, "timeout": 5.0}
    await call.heard_reply()
    await call.clock.advance(5.1)
    await call.until(lambda: len(call.assistant.of_type(Silence)) == 2)
    assert call.assistant.of_type(Silence) == [Silence(1), Silence(2)]


async def test_a_word_from_the_caller_restarts_the_silence_count() -> None:
    """After a recognised utterance the next timeout is Silence(1) again."""
    call = make_call(asr=ScriptedASR(["hello"]), settings=SILENT)
    await greeted(call)
    await call.hear()
    await call.clock.advance(5.1)
    await call.heard_reply()
    await call.utter()
    await call.until(lambda: call.tts.requests[-1] == "You said hello")
    await call.heard_reply()
    await call.clock.advance(5.1)
    await call.until(lambda: len(call.assistant.of_type(Silence)) == 2)
    assert call.assistant.of_type(Silence) == [Silence(1), Silence(1)]


async def test_keys_are_collected_as_the_assistant_asked() -> None:
    """A collect step buffers keys until its length, its finish key, or dtmf_timeout after the
    last key; keys stop the silence timer while the caller types."""
    collects = [CollectDtmf(length=3), CollectDtmf(finish_on_key="#"), CollectDtmf(length=4)]

    def respond(event: UserEvent) -> AssistantTurn | None:
        if isinstance(event, SessionStart | UserText):
            return AssistantTurn(
                messages=(BotMessage("Your number?"),), collect_dtmf=collects.pop(0)
            )
        return None

    call = make_call(assistant=ScriptedAssistant(respond=respond), settings=SILENT)
    await greeted(call)
    await call.hear()
    for key in "12":
        await call.session.dtmf(key)
    await call.clock.advance(2.9)
    assert not call.assistant.of_type(UserText)
    await call.session.dtmf("3")
    await call.heard_reply()
    for key in "45#":
        await call.session.dtmf(key)
    await call.heard_reply()
    await call.clock.advance(4.0)  # most of the silence timeout, then a key, slowly
    await call.session.dtmf("7")
    await call.clock.advance(2.9)
    await call.session.dtmf("8")
    await call.clock.advance(3.1)  # dtmf_timeout after the last key: what was typed
    await call.until(lambda: len(call.assistant.of_type(UserText)) == 3)
    assert [event.text for event in call.assistant.of_type(UserText)] == ["123", "45", "78"]
    assert not call.assistant.of_type(Silence)


async def test_the_bot_hangs_up_once_its_goodbye_is_heard() -> None:
    """HANGING_UP waits for the goodbye's marks; what the caller does meanwhile is still
    answered (a key over a goodbye that forbids interruptions), then the bot hangs up."""

    def respond(event: UserEvent) -> AssistantTurn | None:
        if isinstance(event, UserText) and event.text == "goodbye":
            goodbye = BotMessage("Goodbye!", allow_interruptions=False)
            return AssistantTurn(messages=(goodbye,), hang_up=True)
        return None

    control = RecordingControl()
    call = make_call(
        assistant=ScriptedAssistant(respond=respond), asr=ScriptedASR(["goodbye"]), control=control
    )
    await greeted(call)
    await call.hear()
    await call.utter()
    await call.until(lambda: call.session.state is CallState.HANGING_UP)
    await call.session.dtmf("9")
    await call.until(lambda: call.tts.requests[-1] == "You said 9")
    await call.until(lambda: call.session.state is CallState.HANGING_UP)
    assert not control.calls and not call.transport.closed
    await call.hear()
    await call.until(lambda: call.session.end_reason is not None)
    assert control.calls == [("hang_up", "CA1")] and call.transport.closed
    assert call.session.end_reason == "bot hung up" and call.session.state is CallState.ENDED


async def test_a_barge_in_on_the_goodbye_hangs_up_at_once() -> None:
    """Interrupting an interruptible goodbye clears it, and nothing is left to wait for."""
    call = make_call(
        asr=ScriptedASR(["goodbye", "wait"]), settings=replace(SILENT, silence_timeout=1)
    )
    await greeted(call)
    await call.hear()
    await call.utter()
    await call.until(lambda: call.session.state is CallState.HANGING_UP)
    await call.speak(200)
    assert call.transport.kinds()[-1] == "clear"
    await call.pause(500)  # "wait": words make the barge-in real
    await call.until(lambda: call.session.end_reason is not None)
    assert call.session.end_reason == "bot hung up" and call.transport.closed
    assert not call.of_kind(EventKind.SILENCE)
