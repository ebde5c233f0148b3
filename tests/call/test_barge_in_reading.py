"""Sound over the bot read twice: a recogniser that can (`ReadsBackchannels`) is told when an
utterance starts over the bot, reads it again expecting backchannels, and the call believes
that reading only when it is all backchannels and the first is not."""

from __future__ import annotations

from collections.abc import Sequence

from tests.call.harness import make_call
from tests.call.test_barge_in import STATEMENT, cough, greeted, greeting
from tests.fakes.scripted import ScriptedASR, ScriptedASRStream

from telephonist.call.events import AsrFinal, BargeInConfirmed, BargeInResumed
from telephonist.call.settings import CallSettings
from telephonist.config.channel import InterruptionSettings
from telephonist.dialogue.turns import UserText
from telephonist.speech.asr.base import Final, ReadsBackchannels


class ReadingStream(ScriptedASRStream):
    """Answers each utterance with the next transcript; one heard over the bot also with the
    provider's ``reading``."""

    def __init__(self, provider: ReadingASR) -> None:
        super().__init__(provider)
        self.reading = provider.reading
        self.expected: list[tuple[str, ...] | None] = []
        self._next: tuple[str, ...] | None = None
        self._current: tuple[str, ...] | None = None

    def expect_backchannels(self, phrases: Sequence[str] | None) -> None:
        self.expected.append(None if phrases is None else tuple(phrases))
        self._next = None if phrases is None else tuple(phrases)

    async def on_vad(self, speaking: bool) -> None:
        self.vad.append(speaking)
        if speaking:
            self._current = self._next
        elif self.provider.transcripts:
            text = self.provider.transcripts.pop(0)
            assert isinstance(text, str)
            reading = self.reading if self._current else None
            self.inject(Final(text, 0.5, backchannel_reading=reading))


class ReadingASR(ScriptedASR):
    """Scripted transcripts, and the second reading every utterance over the bot gets."""

    def __init__(self, transcripts: list[str], reading: str) -> None:
        super().__init__(list(transcripts))
        self.reading = reading

    async def open_stream(self, language: str) -> ReadingStream:
        stream = ReadingStream(self)
        self.streams.append(stream)
        return stream


def stream(asr: ReadingASR) -> ReadingStream:
    """The call's one stream, which the call saw as able to read backchannels."""
    (only,) = asr.streams
    assert isinstance(only, ReadingStream) and isinstance(only, ReadsBackchannels)
    return only


async def test_a_hum_misheard_as_words_resumes_the_bot_by_its_second_reading() -> None:
    """ "Bim, bim." over the bot, read again as "Mm-hmm.": a backchannel, so the bot takes
    its message up again and the assistant hears nothing."""
    asr = ReadingASR(["Bim, bim."], "Mm-hmm.")
    call = make_call(assistant=greeting(STATEMENT), asr=asr)
    await greeted(call)
    await call.hear(marks=2)
    await cough(call)
    await call.clock.advance(0)
    (resumed,) = call.of_kind(BargeInResumed)
    assert resumed.reason == "backchannel" and resumed.text == "Mm-hmm."
    assert stream(asr).expected == [InterruptionSettings().backchannels]
    assert [e.text for e in call.of_kind(AsrFinal)] == ["Bim, bim."]  # as first heard
    assert not call.assistant.of_type(UserText)


async def test_words_whose_second_reading_is_words_too_confirm_the_barge_in() -> None:
    """The second reading is believed only when it is all backchannels: here it is not."""
    asr = ReadingASR(["Bim, bim."], "Him, him.")
    call = make_call(assistant=greeting(STATEMENT), asr=asr)
    await greeted(call)
    await call.hear(marks=2)
    await cough(call)
    await call.until(lambda: bool(call.of_kind(BargeInConfirmed)))
    await call.until(lambda: bool(call.assistant.of_type(UserText)))
    assert [e.text for e in call.assistant.of_type(UserText)] == ["Bim, bim."]


async def test_a_turn_not_over_the_bot_is_read_once_and_believed() -> None:
    """The caller's own turn is not sound over the bot: no second reading is asked for,
    and its words go as they were heard."""
    asr = ReadingASR(["okay"], "Mm-hmm.")
    call = make_call(asr=asr)
    await call.session.open()
    await call.heard_reply()
    await call.speak(300)
    await call.pause(500)
    await call.until(lambda: bool(call.assistant.of_type(UserText)))
    assert stream(asr).expected == [None]
    assert [e.text for e in call.assistant.of_type(UserText)] == ["okay"]


async def test_without_resuming_nothing_is_read_again() -> None:
    """``resume_after_ms: 0``: every barge-in is for good, so no second reading is asked."""
    settings = CallSettings(interruptions=InterruptionSettings(resume_after_ms=0))
    asr = ReadingASR(["Bim, bim."], "Mm-hmm.")
    call = make_call(assistant=greeting(STATEMENT), asr=asr, settings=settings)
    await greeted(call)
    await call.hear(marks=2)
    await cough(call)
    assert stream(asr).expected == [None]
