"""Silence monitoring in virtual time, and DTMF keypresses, over real sockets."""

from __future__ import annotations

from tests.audio_samples import load_prompt, silence
from tests.fakes.scripted import ScriptedAssistant

from telephonist.call.events import BargeIn, EventKind
from telephonist.dialogue.turns import (
    AssistantTurn,
    BotMessage,
    CollectDtmf,
    SessionStart,
    Silence,
    UserText,
)


async def test_silence_fires_after_playback_and_counts_up(serve):
    """The timer starts when the last mark is echoed and fires Silence(1), then Silence(2)."""
    async with serve(monitor_silence=True, silence_timeout=5) as served:
        caller = await served.connected_call()
        await served.clock.advance(3)
        assert not served.assistant.of_type(Silence), "no timer while the greeting is unplayed"
        await caller.play_all()
        await served.wait_event(EventKind.PLAYBACK_DONE)
        await served.clock.advance(4.9)
        assert not served.assistant.of_type(Silence)
        await served.clock.advance(0.2)
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(Silence)))
        assert served.assistant.of_type(Silence) == [Silence(1)]
        await served.wait_for_speech(caller, "Silence number 1")
        await caller.play_all()
        await served.wait_event(EventKind.PLAYBACK_DONE, 2)
        await served.clock.advance(5.1)
        await served.assistant.wait_for(lambda: len(served.assistant.of_type(Silence)) == 2)
        assert served.assistant.of_type(Silence) == [Silence(1), Silence(2)]
        await caller.hang_up()


async def test_silence_timer_arms_even_if_marks_never_come_back(serve):
    """If Twilio never echoes a mark, play-out time plus a grace period stands in for it."""
    async with serve(monitor_silence=True, silence_timeout=5) as served:
        await served.connected_call()  # the caller never plays the greeting: no echoes
        greeting_s = len(served.assistant.greeting.split()) * 0.2
        await served.clock.advance(greeting_s + 2.1)
        await served.wait_event(EventKind.PLAYBACK_DONE)
        assert not served.assistant.of_type(Silence)
        await served.clock.advance(5.1)
        await served.assistant.wait_for(lambda: served.assistant.of_type(Silence) == [Silence(1)])


async def test_caller_speech_resets_silence_count(serve):
    """Speaking stops the timer, and the next silence counts from 1 again."""
    async with serve(monitor_silence=True, silence_timeout=5, transcripts=["hello"]) as served:
        caller = await served.connected_call()
        await caller.play_all()
        await served.wait_event(EventKind.PLAYBACK_DONE)
        await served.clock.advance(5.1)
        await served.assistant.wait_for(lambda: len(served.assistant.of_type(Silence)) == 1)
        await served.wait_for_speech(caller, "Silence number 1")
        await caller.play_all()
        await caller.send_audio(load_prompt("agent-pass").mulaw + silence(1.0))
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(UserText)))
        await served.wait_for_speech(caller, "You said hello")
        await caller.play_all()
        await served.wait_event(EventKind.PLAYBACK_DONE, 3)
        await served.clock.advance(5.1)
        await served.assistant.wait_for(lambda: len(served.assistant.of_type(Silence)) == 2)
        assert served.assistant.of_type(Silence)[-1] == Silence(1)
        await caller.hang_up()


async def test_silence_is_off_unless_monitor_silence(serve):
    """monitor_silence defaults to false, as in the brief."""
    async with serve(silence_timeout=5) as served:
        caller = await served.connected_call()
        await caller.play_all()
        await served.wait_event(EventKind.PLAYBACK_DONE)
        await served.clock.advance(60)
        assert not served.assistant.of_type(Silence)
        await caller.hang_up()


async def test_assistant_can_override_silence_timeout(serve):
    """A turn's silence_timeout (e.g. a collect step's) replaces the channel default."""

    def respond(event):
        if isinstance(event, SessionStart):
            return AssistantTurn(messages=(BotMessage("Take your time."),), silence_timeout=12)
        return None

    async with serve(
        assistant=ScriptedAssistant(respond=respond), monitor_silence=True, silence_timeout=5
    ) as served:
        caller = served.caller()
        await caller.dial()
        await caller.connect()
        await served.wait_for_speech(caller, "Take your time.")
        await caller.play_all()
        await served.wait_event(EventKind.PLAYBACK_DONE)
        await served.clock.advance(11)
        assert not served.assistant.of_type(Silence)
        await served.clock.advance(1.1)
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(Silence)))
        await caller.hang_up()


async def test_each_digit_is_a_dtmf_turn_without_collect(serve):
    """Outside a collect step, every key reaches the assistant as text with source dtmf."""
    async with serve() as served:
        caller = await served.connected_call()
        await caller.play_all()
        await caller.send_dtmf("1")
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(UserText)))
        assert served.assistant.of_type(UserText) == [UserText("1", source="dtmf")]
        await caller.hang_up()


def collect(request: CollectDtmf):
    """An assistant that asks for digits in its greeting."""

    def respond(event):
        if isinstance(event, SessionStart):
            return AssistantTurn(messages=(BotMessage("Enter your PIN."),), collect_dtmf=request)
        return None

    return ScriptedAssistant(respond=respond, greeting="Enter your PIN.")


async def test_collect_by_length_buffers_digits(serve):
    """With length 4, four keys make one turn."""
    async with serve(assistant=collect(CollectDtmf(length=4))) as served:
        caller = await served.connected_call()
        await caller.play_all()
        await caller.send_dtmf("12")
        await caller.send_dtmf("34")
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(UserText)))
        assert served.assistant.of_type(UserText) == [UserText("1234", source="dtmf")]
        await caller.hang_up()


async def test_collect_by_finish_key_drops_the_key(serve):
    """With finish_on_key '#', digits up to the key make one turn."""
    async with serve(assistant=collect(CollectDtmf(finish_on_key="#"))) as served:
        caller = await served.connected_call()
        await caller.play_all()
        await caller.send_dtmf("987#")
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(UserText)))
        assert served.assistant.of_type(UserText) == [UserText("987", source="dtmf")]
        await caller.hang_up()


async def test_inter_digit_timeout_submits_what_was_typed(serve):
    """A pause longer than dtmf_timeout sends the digits collected so far."""
    async with serve(assistant=collect(CollectDtmf(length=6)), dtmf_timeout=3) as served:
        caller = await served.connected_call()
        await caller.play_all()
        await caller.send_dtmf("12")
        await served.wait_event(EventKind.DTMF, 2)
        await served.clock.advance(2.9)
        assert not served.assistant.of_type(UserText)
        await served.clock.advance(0.2)
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(UserText)))
        assert served.assistant.of_type(UserText) == [UserText("12", source="dtmf")]
        await caller.hang_up()


async def test_keypress_interrupts_bot_audio(serve):
    """A key pressed while the bot talks clears its audio."""
    async with serve() as served:
        caller = await served.connected_call()
        await caller.send_dtmf("0")
        await caller.wait_until(lambda: caller.clears == 1)
        await served.assistant.wait_for(lambda: bool(served.assistant.of_type(UserText)))
        assert served.kinds(BargeIn)[0].trigger == "dtmf"
        await caller.hang_up()
