"""The turn model with Deepgram (the local fake, over a real websocket): Deepgram's own
endpointer finishes a sentence at a mid-sentence pause the model judged incomplete; its words
are held, and ``Finalize`` is sent only when we end the turn, whose answer completes it."""

from __future__ import annotations

import dataclasses

from tests.call.harness import QUIET_FRAME, SPEECH_FRAME, Call, make_call
from tests.call.test_turn_model import frames, listening, said
from tests.fakes.deepgram_server import FakeDeepgram
from tests.fakes.turn import ScriptedScorer

from telephonist.call.events import AsrFinal
from telephonist.dialogue.turns import UserText
from telephonist.speech.asr.deepgram import DeepgramASR, from_config
from telephonist.speech.asr.deepgram_stream import StreamTiming
from telephonist.speech.registry import ProviderContext

KEY = "dg-secret-0123456789"


def deepgram(fake: FakeDeepgram) -> DeepgramASR:
    """Deepgram with its default endpointing (400 ms), pointed at the fake."""
    context = ProviderContext(
        "credentials.yml", "twilio_media_streams.asr", {"DEEPGRAM_API_KEY": KEY}, "en"
    )
    asr = from_config({"endpoint": fake.url}, context)
    timing = StreamTiming(connect_timeout=2.0, close_timeout=1.0)
    return DeepgramASR(dataclasses.replace(asr.settings, timing=timing))


def finals(call: Call) -> list[str]:
    """The finals Deepgram sent, in order."""
    return [e.text for e in call.of_kind(AsrFinal)]


async def test_deepgrams_mid_sentence_final_waits_for_our_end_of_turn() -> None:
    """One turn, one text for the assistant, and Finalize only at our decision."""
    script = ["i would like to book", "a table for two"]
    async with FakeDeepgram(KEY, script=script) as fake:
        scorer = ScriptedScorer([0.1])  # the first pause sounds unfinished
        call = make_call(asr=deepgram(fake), turn_scorer=scorer)
        await listening(call)
        await frames(call, SPEECH_FRAME, 400)
        await frames(call, QUIET_FRAME, 700)  # Deepgram's endpointer fires at 400 ms
        await call.published_until(lambda: finals(call) == ["i would like to book"])
        assert said(call) == [] and fake.records[0].controls == []
        scorer.probabilities = [0.9]  # the second pause sounds finished
        await frames(call, SPEECH_FRAME, 400)
        await frames(call, QUIET_FRAME, 200)
        await call.published_until(lambda: bool(said(call)))
        assert call.assistant.of_type(UserText) == [
            UserText("i would like to book a table for two", "speech", 0.97)
        ]
        assert fake.records[0].controls == ["Finalize"]
        await call.session.end("caller hung up")
