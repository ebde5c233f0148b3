"""Deepgram live ASR against the local fake Deepgram, over real websockets."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest
from tests.fakes.deepgram_server import FakeDeepgram, WordCodec, silence

from telephonist.errors import ConfigError, ProviderError
from telephonist.speech.asr.base import ASRError, ASREvent, Final, Partial, SpeechStarted
from telephonist.speech.asr.deepgram import DeepgramASR, from_config
from telephonist.speech.asr.deepgram_stream import DeepgramStream, StreamTiming
from telephonist.speech.registry import ProviderContext, build_asr

KEY = "dg-secret-0123456789"
WORDS = ["please", "book", "a", "table", "for", "two", "at", "seven", "thanks", "hello"]
CODEC = WordCodec(WORDS, word_bytes=320)
FAST = StreamTiming(
    keep_alive_interval=5.0,
    reconnect_attempts=3,
    backoff_initial=0.01,
    backoff_max=0.05,
    connect_timeout=2.0,
    close_timeout=1.0,
)


def context(environ: Mapping[str, str] | None = None, language: str = "en") -> ProviderContext:
    """A provider context with the Deepgram key set."""
    return ProviderContext(
        file="credentials.yml",
        key="twilio_media_streams.asr",
        environ={"DEEPGRAM_API_KEY": KEY} if environ is None else environ,
        language=language,
    )


def provider(fake: FakeDeepgram, timing: StreamTiming = FAST, **config: Any) -> DeepgramASR:
    """A DeepgramASR pointed at ``fake`` with test timings."""
    asr = from_config({"endpoint": fake.url, **config}, context())
    return DeepgramASR(dataclasses.replace(asr.settings, timing=timing))


async def speak(stream: DeepgramStream, audio: bytes) -> None:
    """Send ``audio`` the way Twilio delivers it: 20 ms frames."""
    for offset in range(0, len(audio), 160):
        await stream.send(audio[offset : offset + 160])


async def until(
    events: AsyncIterator[ASREvent], done: Callable[[ASREvent], bool], within: float = 5.0
) -> list[ASREvent]:
    """Events up to and including the first one for which ``done`` holds."""
    seen: list[ASREvent] = []
    async with asyncio.timeout(within):
        async for event in events:
            seen.append(event)
            if done(event):
                return seen
    return seen


def is_final(event: ASREvent) -> bool:
    """A Final or a fatal ASRError (both end what a test waits for); a retryable ASRError
    only reports a reconnect."""
    return isinstance(event, Final) or (isinstance(event, ASRError) and not event.retryable)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDeepgram]:
    """A running fake Deepgram with the test key and vocabulary."""
    async with FakeDeepgram(KEY, codec=CODEC, final_every=3) as server:
        yield server


async def test_query_and_auth_match_the_documented_protocol(fake: FakeDeepgram) -> None:
    """The handshake carries the Token header and every documented query parameter."""
    stream = await provider(fake).open_stream("en")
    await stream.close()
    record = fake.records[0]
    assert record.authorization_ok and record.path == "/v1/listen"
    assert record.query == {
        "encoding": "mulaw",
        "sample_rate": "8000",
        "model": "nova-3",
        "language": "en",
        "interim_results": "true",
        "smart_format": "true",
        "vad_events": "true",
        "endpointing": "400",
        "utterance_end_ms": "1000",
    }
    assert record.controls == ["CloseStream"]
    await fake.wait_for(lambda: record.close_code is not None)  # the fake's side may lag
    assert record.close_code == 1000


async def test_segments_accumulate_into_one_final_turn(fake: FakeDeepgram) -> None:
    """SpeechStarted, partials, then one Final joining every is_final segment at speech_final."""
    stream = await provider(fake).open_stream("en")
    events = stream.events()
    await speak(stream, silence(100) + CODEC.speak("please book a table for two") + silence(500))
    seen = await until(events, is_final)
    assert isinstance(seen[0], SpeechStarted)
    assert Partial("please book a") in seen
    assert seen[-1] == Final("please book a table for two", 0.97)
    segments = [r for r in fake.records[0].results if r["is_final"] and not r["speech_final"]]
    assert len(segments) == 2  # two is_final pieces were joined
    await stream.close()


async def test_utterance_end_ends_the_turn_without_speech_final(fake: FakeDeepgram) -> None:
    """With endpointing off, UtteranceEnd delivers the accumulated words as the Final."""
    stream = await provider(fake, endpointing=False).open_stream("en")
    events = stream.events()
    await speak(stream, CODEC.speak("book a table") + silence(1200))
    seen = await until(events, is_final)
    assert seen[-1] == Final("book a table", 0.97)
    assert fake.records[0].query["endpointing"] == "false"
    await stream.close()


async def test_vad_end_sends_finalize_and_ends_the_turn(fake: FakeDeepgram) -> None:
    """on_vad(False) sends Finalize; the from_finalize result ends the turn at once."""
    stream = await provider(fake, endpointing=False, utterance_end_ms=0).open_stream("en")
    events = stream.events()
    await speak(stream, CODEC.speak("hello"))
    await stream.on_vad(True)
    await stream.on_vad(False)
    seen = await until(events, is_final)
    assert seen[-1] == Final("hello", 0.97)
    assert fake.records[0].controls == ["Finalize"]
    assert "utterance_end_ms" not in fake.records[0].query
    await stream.close()


async def test_keepalive_holds_an_idle_connection_open() -> None:
    """Without audio, KeepAlive text frames arrive often enough to beat the idle close."""
    async with FakeDeepgram(KEY, codec=CODEC, idle_timeout=0.3) as fake:
        timing = dataclasses.replace(FAST, keep_alive_interval=0.05)
        stream = await provider(fake, timing).open_stream("en")
        await fake.wait_for(lambda: fake.records[0].controls.count("KeepAlive") >= 10)
        assert fake.records[0].close_code is None and len(fake.records) == 1
        await stream.close()


async def test_idle_close_is_survived_by_reconnecting() -> None:
    """Deepgram's 1011 NET-0001 idle close is followed by a reconnect, not a dead stream."""
    async with FakeDeepgram(KEY, codec=CODEC, idle_timeout=0.1) as fake:
        stream = await provider(fake).open_stream("en")
        await fake.wait_for(
            lambda: len(fake.records) >= 2 and fake.records[0].close_code is not None
        )
        assert fake.records[0].close_code == 1011
        events = stream.events()
        await speak(stream, CODEC.speak("thanks") + silence(500))
        assert (await until(events, is_final))[-1] == Final("thanks", 0.97)
        await stream.close()


async def test_reconnect_keeps_the_turn(fake: FakeDeepgram) -> None:
    """Words recognised before a mid-utterance drop still arrive in the one Final."""
    fake.faults.drop_after_words = 4  # after the first is_final segment of three words
    stream = await provider(fake).open_stream("en")
    events = stream.events()
    await speak(stream, CODEC.speak("please book a table for two at seven") + silence(500))
    seen = await until(events, is_final)
    assert seen[-1] == Final("please book a table for two at seven", 0.97)
    assert [e for e in seen if isinstance(e, Final)] == [seen[-1]]
    reported = [e for e in seen if isinstance(e, ASRError)]
    assert len(reported) == 1 and reported[0].retryable and "reconnected" in reported[0].message
    assert len(fake.records) == 2 and stream.reconnects == 1
    await stream.close()


async def test_reconnect_replays_only_audio_after_the_last_final(fake: FakeDeepgram) -> None:
    """After a drop in the second turn the first turn is not recognised again."""
    stream = await provider(fake).open_stream("en")
    events = stream.events()
    await speak(stream, CODEC.speak("hello") + silence(500))
    assert (await until(events, is_final))[-1] == Final("hello", 0.97)
    fake.faults.drop_after_words = 3  # the second word of the second turn, on connection 1
    await speak(stream, CODEC.speak("book a table") + silence(500))
    assert (await until(events, is_final))[-1] == Final("book a table", 0.97)
    heard_again = [r["channel"]["alternatives"][0]["transcript"] for r in fake.records[1].results]
    assert heard_again and not any("hello" in text for text in heard_again)
    await stream.close()


async def test_close_code_drop_is_also_recovered(fake: FakeDeepgram) -> None:
    """A drop with a close frame (1011) is handled like a network error."""
    fake.faults.drop_after_words, fake.faults.drop_code = 2, 1011
    stream = await provider(fake).open_stream("en")
    events = stream.events()
    await speak(stream, CODEC.speak("table for two") + silence(500))
    assert (await until(events, is_final))[-1] == Final("table for two", 0.97)
    await stream.close()


async def test_gives_up_with_a_fatal_error_after_n_attempts(fake: FakeDeepgram) -> None:
    """When every reconnect is refused, events() yields ASRError(retryable=False) and ends."""
    stream = await provider(fake).open_stream("en")
    fake.faults.drop_after_words = 1
    fake.faults.refuse_statuses = [503, 503, 503]
    events = stream.events()
    await speak(stream, CODEC.speak("hello") + silence(500))
    seen = await until(events, is_final)
    assert isinstance(seen[-1], ASRError) and not seen[-1].retryable
    assert "503" in seen[-1].message
    assert [e async for e in events] == []
    await stream.close()


async def test_malformed_message_is_skipped(fake: FakeDeepgram) -> None:
    """A frame that is not JSON is logged and skipped; the turn still completes."""
    fake.faults.malformed_after_words = 1
    stream = await provider(fake).open_stream("en")
    events = stream.events()
    await speak(stream, CODEC.speak("book a table") + silence(500))
    assert (await until(events, is_final))[-1] == Final("book a table", 0.97)
    await stream.close()


async def test_close_delivers_words_not_yet_ended(fake: FakeDeepgram) -> None:
    """close() sends CloseStream; words still pending come out as a last Final."""
    stream = await provider(fake, endpointing=False).open_stream("en")
    events = stream.events()
    await speak(stream, CODEC.speak("two"))
    await fake.wait_for(lambda: bool(fake.records[0].results))
    await stream.close()
    assert [e async for e in events][-1] == Final("two", 0.97)


async def test_bad_key_fails_open_stream_without_retry(fake: FakeDeepgram) -> None:
    """A 401 at the handshake is a non-retryable ProviderError that does not echo the key."""
    asr = from_config({"endpoint": fake.url}, context({"DEEPGRAM_API_KEY": "wrong-key-42"}))
    with pytest.raises(ProviderError) as caught:
        await asr.open_stream("en")
    assert not caught.value.retryable and "401" in str(caught.value)
    assert "wrong-key-42" not in str(caught.value)


async def test_script_mode_recognises_arbitrary_audio() -> None:
    """With a script, any non-silent audio becomes the next scripted utterance."""
    async with FakeDeepgram(KEY, script=["yes please", "no thanks"]) as fake:
        stream = await provider(fake).open_stream("en")
        events = stream.events()
        tone = bytes([0x10, 0x90]) * 800
        await speak(stream, tone + silence(500))
        assert (await until(events, is_final))[-1] == Final("yes please", 0.97)
        await speak(stream, tone + silence(500))
        assert (await until(events, is_final))[-1] == Final("no thanks", 0.97)
        await stream.close()


def test_language_map_selects_model_and_language() -> None:
    """language_map entries choose the model/language per assistant language."""
    asr = from_config(
        {
            "language_map": {
                "en": {"language": "en-US"},
                "de": {"language": "de", "model": "nova-2"},
            }
        },
        context(),
    )
    assert "language=de" in asr.settings.url_for("de")
    assert "model=nova-2" in asr.settings.url_for("de")
    assert "model=nova-3" in asr.settings.url_for("en-GB")
    with pytest.raises(ProviderError):
        asr.settings.url_for("fr")


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"modle": "nova-3"}, "twilio_media_streams.asr.modle"),
        ({"endpointing": "soon"}, "twilio_media_streams.asr.endpointing"),
        ({"endpoint": "ftp://x"}, "twilio_media_streams.asr.endpoint"),
        ({"model": "flux-general-en"}, "twilio_media_streams.asr.model"),
        (
            {"language": "en", "language_map": {"en": {"language": "en"}}},
            "twilio_media_streams.asr.language",
        ),
        (
            {"language_map": {"en": {"model": "nova-3"}}},
            "twilio_media_streams.asr.language_map.en.language",
        ),
        ({"language_map": {"de": {"language": "de"}}}, "twilio_media_streams.asr.language_map"),
    ],
)
def test_config_errors_name_the_key(config: dict[str, Any], key: str) -> None:
    """Each invalid block is a ConfigError located at the offending key."""
    with pytest.raises(ConfigError) as caught:
        from_config(config, context())
    assert caught.value.key == key


def test_missing_api_key_names_the_variable_and_hides_secrets() -> None:
    """No DEEPGRAM_API_KEY is a start-up error; the key never shows in reprs."""
    with pytest.raises(ConfigError, match="DEEPGRAM_API_KEY"):
        from_config({}, context({}))
    asr = from_config({}, context())
    assert KEY not in repr(asr) and KEY not in repr(asr.settings)
    assert asr.settings.url.startswith("wss://api.deepgram.com/v1/listen")


async def test_debug_logs_never_show_the_key(
    fake: FakeDeepgram, caplog: pytest.LogCaptureFixture
) -> None:
    """Handshake headers logged at DEBUG have the Authorization value redacted."""
    caplog.set_level("DEBUG")
    stream = await provider(fake).open_stream("en")
    await stream.close()
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("telephonist")]
    assert "> Authorization: <redacted>" in ours
    assert not [message for message in ours if KEY in message]


async def test_built_through_the_registry(fake: FakeDeepgram) -> None:
    """``asr: {name: deepgram, endpoint: ws://…}`` resolves to this provider and connects."""
    asr = build_asr({"name": "deepgram", "endpoint": fake.url}, context())
    assert isinstance(asr, DeepgramASR)
    stream = await asr.open_stream("en")
    await stream.close()
    assert fake.records[0].authorization_ok


async def test_refused_key_on_reconnect_gives_up_at_once(fake: FakeDeepgram) -> None:
    """A 401 while reconnecting is not retried: one attempt, then ASRError(retryable=False)."""
    stream = await provider(fake).open_stream("en")
    fake.faults.drop_after_words = 1
    fake.faults.refuse_statuses = [401, 503, 503]
    events = stream.events()
    await speak(stream, CODEC.speak("hello") + silence(500))
    seen = await until(events, is_final)
    assert isinstance(seen[-1], ASRError) and "401" in seen[-1].message
    assert fake.faults.refuse_statuses == [503, 503]
    await stream.close()


async def test_no_keepalive_while_audio_flows() -> None:
    """KeepAlive is only for silence on the wire: a steady audio stream sends none."""
    async with FakeDeepgram(KEY, codec=CODEC) as fake:
        timing = dataclasses.replace(FAST, keep_alive_interval=0.15)
        stream = await provider(fake, timing).open_stream("en")
        for _ in range(30):  # 0.6 s paced like Twilio: idle it would have needed 4 KeepAlives
            await stream.send(silence(20))
            await asyncio.sleep(0.02)
        await stream.close()
        assert "KeepAlive" not in fake.records[0].controls
