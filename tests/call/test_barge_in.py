"""Barge-ins on hold, in virtual time: caller sound stops the bot at once, and words decide
whether it was real (the assistant hears of it) or a cough or a "mm-hm" (the bot resumes at
the start of the phrase it was cut in)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncGenerator
from dataclasses import dataclass, replace

from tests.call.harness import Call, make_call
from tests.fakes.scripted import (
    ScriptedASR,
    ScriptedAssistant,
    ScriptedTTS,
    spoken_length,
    tone_audio,
)

from telephonist.audio.formats import MULAW_BYTES_PER_MS
from telephonist.audio.pauses import LEAD_IN_MS
from telephonist.call.barge_in import ANSWER_GRACE_S
from telephonist.call.events import (
    Backchannel,
    BargeIn,
    BargeInConfirmed,
    BargeInResumed,
    EventKind,
    MarkPlayed,
)
from telephonist.call.heard import heard_text
from telephonist.call.settings import CallSettings
from telephonist.call.state import CallState
from telephonist.config.channel import InterruptionSettings
from telephonist.dialogue.turns import (
    AssistantTurn,
    BargedIn,
    BotMessage,
    SessionStart,
    UserEvent,
    UserText,
)
from telephonist.speech.asr.base import ASRCapabilities, Final
from telephonist.speech.tts.base import VoiceSpec

PHRASES = "Your order has shipped, it will arrive on Tuesday, between nine and five."
PAUSE = b"\xff" * (300 * MULAW_BYTES_PER_MS)
"""The voice's pause at a comma: 300 ms of silence."""
GREETING = ScriptedAssistant().greeting
"""It ends with a question."""
STATEMENT = "Thanks for calling the test line, we are open from nine to five."


@dataclass
class PhrasedTTS(ScriptedTTS):
    """Speaks each comma-separated phrase as a tone (200 ms a word) with a 300 ms pause
    between phrases; ``gate``, when given, must be set before each chunk after the first."""

    gate: asyncio.Event | None = None

    @staticmethod
    def audio(text: str) -> bytes:
        """The whole audio for ``text``."""
        return PAUSE.join(tone_audio(len(p.split())) for p in text.split(","))

    async def synthesize(self, text: str, voice: VoiceSpec) -> AsyncGenerator[bytes, None]:
        """The audio in 100 ms chunks."""
        self.requests.append(text)
        audio = self.audio(text)
        for offset in range(0, len(audio), 800):
            if offset and self.gate is not None:
                await self.gate.wait()
            yield audio[offset : offset + 800]
            await asyncio.sleep(0)


def greeting(text: str) -> ScriptedAssistant:
    """An assistant that greets with ``text`` and otherwise echoes."""

    def respond(event: UserEvent) -> AssistantTurn | None:
        if isinstance(event, SessionStart):
            return AssistantTurn(messages=(BotMessage(text),))
        return None

    return ScriptedAssistant(respond=respond)


def audio_after_clear(call: Call) -> bytes:
    """Bot audio sent after the last ``clear``."""
    kinds = call.transport.kinds()
    last_clear = len(kinds) - 1 - kinds[::-1].index("clear")
    return b"".join(
        base64.b64decode(f["media"]["payload"])
        for f in call.transport.frames[last_clear:]
        if f["event"] == "media"
    )


def state(call: Call) -> CallState:
    """The session's state (read afresh each time)."""
    return call.session.state


async def greeted(call: Call) -> None:
    """Open the call and wait until the greeting is sent (not yet heard)."""
    await call.session.open()
    await call.until(lambda: state(call) is CallState.PLAYING)


async def cough(call: Call, ms: int = 300) -> None:
    """Non-word sound long enough to stop the bot, then the VAD's end-of-speech pause."""
    await call.speak(ms)
    await call.pause(500)


async def test_a_cough_stops_the_bot_then_it_resumes_its_phrase() -> None:
    """Sound stops the bot at min_speech_ms as before, but on hold: the assistant hears
    nothing; after resume_after_ms of quiet with no words the bot sends its message again
    from the pause before the phrase it was cut in, and finishes it."""
    tts = PhrasedTTS()
    call = make_call(assistant=greeting(PHRASES), asr=ScriptedASR([]), tts=tts)
    await greeted(call)
    await call.hear(marks=3)  # 1.5 s heard: inside the second phrase
    await call.speak(200)
    assert call.transport.kinds()[-1] == "clear"
    assert state(call) is CallState.PAUSED
    (barge_in,) = call.of_kind(BargeIn)
    assert barge_in.pending is True and barge_in.onset_to_clear_ms == 200.0
    await call.speak(100)
    await call.pause(500)  # the VAD's end of speech: the sound ended 0.5 s ago
    await call.clock.advance(0.05)
    assert not call.of_kind(EventKind.BARGE_IN_RESUMED)
    await call.clock.advance(0.1)  # resume_after_ms (600) after the sound ended
    (resumed,) = call.of_kind(BargeInResumed)
    assert resumed.reason == "no_words"
    audio = tts.audio(PHRASES)
    padded = audio + b"\xff" * (-len(audio) % 160)
    second_phrase = len(tone_audio(4)) + len(PAUSE)
    start = resumed.offset
    assert audio_after_clear(call) == padded[start:]
    lead_in = padded[start:second_phrase]  # the end of the comma's pause, then the phrase
    assert set(lead_in) == {0xFF}
    assert abs(len(lead_in) - LEAD_IN_MS * MULAW_BYTES_PER_MS) <= 80
    assert state(call) is CallState.PLAYING
    await call.hear()
    assert state(call) is CallState.LISTENING
    assert not call.assistant.of_type(BargedIn) and not call.assistant.of_type(UserText)
    assert tts.requests == [PHRASES]


async def test_words_confirm_the_barge_in_with_what_was_heard() -> None:
    """Real words after the sound make it today's barge-in: the message is dropped, and the
    assistant gets BargedIn (heard up to the echoed mark) and then the words."""
    call = make_call(asr=ScriptedASR(["stop please"]))
    await greeted(call)
    await call.hear(marks=1)
    offset = call.of_kind(MarkPlayed)[0].offset
    await call.speak(200)
    assert call.transport.kinds()[-1] == "clear" and not call.assistant.of_type(BargedIn)
    await call.speak(400)
    await call.clock.advance(5)  # however long the words take, the bot does not resume
    assert not call.of_kind(EventKind.BARGE_IN_RESUMED)
    await call.pause(500)  # the final transcript "stop please"
    await call.until(lambda: bool(call.of_kind(EventKind.BARGE_IN_CONFIRMED)))
    heard = heard_text(GREETING, offset, spoken_length(GREETING), True)
    (confirmed,) = call.of_kind(BargeInConfirmed)
    assert confirmed.trigger == "final" and confirmed.heard == heard
    await call.until(lambda: bool(call.assistant.of_type(UserText)))
    kinds = [type(event) for _, event in call.assistant.events]
    assert kinds == [SessionStart, BargedIn, UserText]
    assert call.assistant.of_type(BargedIn) == [BargedIn(heard, GREETING)]
    await call.clock.advance(5)
    assert not call.of_kind(EventKind.BARGE_IN_RESUMED)
    assert call.tts.requests == [GREETING, "You said stop please"]


async def test_a_backchannel_resumes_and_never_reaches_the_assistant() -> None:
    """ "Mm-hmm." is not a turn: the bot resumes as soon as it is recognised."""
    call = make_call(assistant=greeting(STATEMENT), asr=ScriptedASR(["Mm-hmm."]))
    await greeted(call)
    await call.hear(marks=2)
    await cough(call)  # the final "Mm-hmm." comes with the end of speech
    await call.clock.advance(0)
    (resumed,) = call.of_kind(BargeInResumed)
    assert resumed.reason == "backchannel" and resumed.text == "Mm-hmm."
    assert [e.text for e in call.of_kind(Backchannel)] == ["Mm-hmm."]
    assert audio_after_clear(call)  # no pause in a tone: the message starts again
    await call.hear()
    await call.until(lambda: state(call) is CallState.LISTENING)
    assert [type(e) for _, e in call.assistant.events] == [SessionStart]


async def test_a_backchannel_over_the_closing_question_is_an_answer() -> None:
    """ "Yeah" while the bot asks its closing question confirms the barge-in: the caller
    answered, and the assistant gets the word."""
    call = make_call(assistant=greeting("Shall I book it?"), asr=ScriptedASR(["yeah"]))
    await greeted(call)
    await call.hear(marks=1)
    await cough(call)
    await call.until(lambda: bool(call.assistant.of_type(UserText)))
    assert call.assistant.of_type(UserText) == [UserText("yeah", "speech", 0.9)]
    assert len(call.assistant.of_type(BargedIn)) == 1
    assert not call.of_kind(EventKind.BARGE_IN_RESUMED)


async def test_a_key_confirms_a_barge_in_on_hold_at_once() -> None:
    """A keypress during the hold is a real interruption, like any keypress."""
    call = make_call(asr=ScriptedASR([]))
    await greeted(call)
    await call.speak(200)
    assert state(call) is CallState.PAUSED
    await call.session.dtmf("5")
    (confirmed,) = call.of_kind(BargeInConfirmed)
    assert confirmed.trigger == "dtmf"
    await call.until(lambda: bool(call.assistant.of_type(UserText)))
    kinds = [type(event) for _, event in call.assistant.events]
    assert kinds == [SessionStart, BargedIn, UserText]


async def test_speaking_again_during_the_hold_waits_for_its_words() -> None:
    """Quiet after the sound, then real words: the resume waits while the caller speaks, and
    the words confirm the first barge-in (what was heard before it)."""
    call = make_call(asr=ScriptedASR(["", "I want an agent"]))
    await greeted(call)
    await call.hear(marks=1)
    await cough(call)
    await call.speak(400)  # before resume_after_ms: the caller starts speaking again
    await call.clock.advance(2)
    assert not call.of_kind(EventKind.BARGE_IN_RESUMED)
    await call.pause(500)
    await call.until(lambda: bool(call.assistant.of_type(UserText)))
    assert call.assistant.of_type(UserText)[-1].text == "I want an agent"
    assert len(call.of_kind(EventKind.BARGE_IN)) == 1
    assert call.of_kind(EventKind.BARGE_IN_CONFIRMED)


async def test_words_after_the_bot_resumed_interrupt_it_at_once() -> None:
    """A slow recogniser's words that arrive once the bot has resumed stop it for good, at
    once (they are words: no hold)."""
    asr = ScriptedASR([])
    call = make_call(asr=asr)
    await greeted(call)
    await cough(call)
    await call.clock.advance(0.2)
    assert call.of_kind(EventKind.BARGE_IN_RESUMED)
    asr.streams[0].inject(Final("no wait", 0.9))
    await call.until(lambda: bool(call.assistant.of_type(UserText)))
    barge_ins = call.of_kind(BargeIn)
    assert [b.pending for b in barge_ins] == [True, False]
    assert barge_ins[-1].trigger == "final"
    assert [type(e) for _, e in call.assistant.events] == [SessionStart, BargedIn, UserText]


async def test_a_backchannel_over_the_bot_does_not_interrupt_it() -> None:
    """Words that are only backchannels, too short for the VAD to stop the bot, neither stop
    it nor reach the assistant."""
    asr = ScriptedASR([])
    call = make_call(assistant=greeting(STATEMENT), asr=asr)
    await greeted(call)
    asr.streams[0].inject(Final("okay, right", 0.9))
    await call.until(lambda: bool(call.of_kind(EventKind.BACKCHANNEL)))
    assert "clear" not in call.transport.kinds() and not call.of_kind(EventKind.BARGE_IN)
    await call.hear()
    assert [type(e) for _, e in call.assistant.events] == [SessionStart]


async def test_the_held_turn_keeps_synthesising_and_sends_it_all_in_order() -> None:
    """A hold while the message is still being synthesised: nothing more goes out until the
    bot resumes, then the audio sent before, the audio made meanwhile and the rest follow
    in order, and the turn ends as usual."""
    gate = asyncio.Event()
    tts = PhrasedTTS(gate=gate)
    call = make_call(assistant=greeting(PHRASES), asr=ScriptedASR([]), tts=tts)
    await call.session.open()
    await call.until(lambda: "media" in call.transport.kinds())
    assert state(call) is CallState.RESPONDING
    await call.speak(200)
    assert state(call) is CallState.PAUSED
    sent = len(call.transport.frames)
    gate.set()  # synthesis goes on meanwhile
    await call.pause(500)
    assert len(call.transport.frames) == sent
    await call.clock.advance(0.1)
    await call.until(lambda: state(call) is CallState.PLAYING)
    audio = tts.audio(PHRASES)
    assert audio_after_clear(call) == audio + b"\xff" * (-len(audio) % 160)
    await call.hear()
    assert state(call) is CallState.LISTENING
    assert len(call.of_kind(EventKind.PLAYBACK_DONE)) == 1


async def test_a_cough_on_the_goodbye_resumes_it_then_the_bot_hangs_up() -> None:
    """The goodbye is held and resumed like any message; the bot hangs up once it is
    heard."""
    call = make_call(asr=ScriptedASR(["goodbye"]))
    await greeted(call)
    await call.hear()
    await call.utter()
    await call.until(lambda: state(call) is CallState.HANGING_UP)
    await cough(call)
    await call.clock.advance(0.2)
    assert state(call) is CallState.HANGING_UP
    assert call.of_kind(EventKind.BARGE_IN_RESUMED) and call.session.end_reason is None
    await call.hear()
    await call.until(lambda: call.session.end_reason == "bot hung up")


async def test_with_resume_off_every_barge_in_is_for_good() -> None:
    """resume_after_ms: 0 is the plain barge-in: the assistant hears of the sound at once,
    and backchannels are words like any other."""
    off = CallSettings(interruptions=InterruptionSettings(resume_after_ms=0))
    call = make_call(asr=ScriptedASR(["mm-hm"]), settings=off)
    await greeted(call)
    await call.speak(200)
    (barge_in,) = call.of_kind(BargeIn)
    assert barge_in.pending is False and state(call) is not CallState.PAUSED
    await call.until(lambda: bool(call.assistant.of_type(BargedIn)))
    await call.pause(500)
    await call.until(lambda: bool(call.assistant.of_type(UserText)))
    assert call.assistant.of_type(UserText) == [UserText("mm-hm", "speech", 0.9)]
    assert not call.of_kind(EventKind.BARGE_IN_RESUMED)


async def test_backchannels_are_configurable() -> None:
    """An empty list makes every word real: "mm-hm" confirms the barge-in."""
    none = CallSettings(interruptions=replace(InterruptionSettings(), backchannels=()))
    call = make_call(assistant=greeting(STATEMENT), asr=ScriptedASR(["mm-hm"]), settings=none)
    await greeted(call)
    await cough(call)
    await call.until(lambda: bool(call.assistant.of_type(UserText)))
    assert call.of_kind(EventKind.BARGE_IN_CONFIRMED)


def answering(transcripts: list[str]) -> ScriptedASR:
    """A recogniser that answers each utterance cut at our VAD's edges (as the local one does:
    an empty Final when it heard no words)."""
    return ScriptedASR(list(transcripts), capabilities=ASRCapabilities(cuts_at_vad_edges=True))


async def test_a_recogniser_that_found_no_words_resumes_the_bot_at_once() -> None:
    """With a per-utterance recogniser the bot does not wait out resume_after_ms: its empty
    answer is the verdict."""
    call = make_call(asr=answering([""]))
    await greeted(call)
    await cough(call)
    await call.clock.advance(0)
    (resumed,) = call.of_kind(BargeInResumed)
    assert resumed.reason == "no_words"


async def test_the_hold_waits_for_a_slow_recogniser_and_its_words_decide() -> None:
    """A per-utterance recogniser slower than resume_after_ms is waited for: words that come
    late still find the bot on hold and confirm the barge-in; without an answer at all the
    bot resumes after the grace."""
    asr = answering([])
    call = make_call(assistant=greeting(STATEMENT), asr=asr)
    await greeted(call)
    await cough(call)
    await call.clock.advance(1.5)  # resume_after_ms (600) is long past: still on hold
    assert state(call) is CallState.PAUSED
    asr.streams[0].inject(Final("could you repeat that", 0.9))
    await call.until(lambda: bool(call.assistant.of_type(UserText)))
    assert call.of_kind(EventKind.BARGE_IN_CONFIRMED)
    assert not call.of_kind(EventKind.BARGE_IN_RESUMED)

    silent = make_call(asr=answering([]))
    await greeted(silent)
    await cough(silent)
    await silent.clock.advance(ANSWER_GRACE_S)
    assert state(silent) is CallState.PAUSED
    await silent.clock.advance(0.2)  # resume_after_ms + the grace after the sound ended
    assert silent.of_kind(EventKind.BARGE_IN_RESUMED)
