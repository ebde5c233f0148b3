"""Cartesia websocket TTS against the local fake Cartesia, over real websockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from typing import Any

import pytest
from tests.fakes.cartesia_server import FakeCartesia, FakeCartesiaBytes
from tests.fakes.synthetic import synthetic_audio

from telephonist.errors import ConfigError, ProviderError
from telephonist.speech.registry import ProviderContext, build_tts
from telephonist.speech.tts.base import TTSEngine, VoiceSpec
from telephonist.speech.tts.cartesia import CartesiaTTS, from_config
from telephonist.speech.tts.cartesia_bytes import CartesiaBytesTTS
from telephonist.speech.tts.fallback import FallbackTTS

KEY = "sk_car_secret_42"
LONG = "This sentence is long enough to need many chunks of audio from the fake. " * 3


def websocket_engine(config: Mapping[str, Any], ctx: ProviderContext) -> CartesiaTTS:
    """from_config for the websocket transport."""
    engine = from_config(config, ctx)
    assert isinstance(engine, CartesiaTTS)
    return engine


def context(environ: Mapping[str, str] | None = None) -> ProviderContext:
    """A provider context with the Cartesia key set."""
    return ProviderContext(
        file="credentials.yml",
        key="twilio_media_streams.tts",
        environ={"CARTESIA_API_KEY": KEY} if environ is None else environ,
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeCartesia]:
    """A running fake Cartesia."""
    async with FakeCartesia(KEY) as server:
        yield server


@pytest.fixture
async def tts(fake: FakeCartesia) -> AsyncIterator[CartesiaTTS]:
    """A CartesiaTTS pointed at the fake; closed after the test."""
    engine = websocket_engine({"endpoint": fake.url}, context())
    yield engine
    await engine.aclose()


async def speak(tts: TTSEngine, text: str, voice: VoiceSpec | None = None) -> bytes:
    """All the audio for one message."""
    return b"".join([chunk async for chunk in tts.synthesize(text, voice or VoiceSpec())])


async def test_generation_request_matches_the_documented_protocol(
    fake: FakeCartesia, tts: CartesiaTTS
) -> None:
    """Version header, Bearer auth, model, voice, raw pcm_mulaw 8 kHz, one context per message."""
    assert await speak(tts, "Hello there.") == synthetic_audio("Hello there.")
    assert [(h.version, h.auth) for h in fake.handshakes] == [("2026-03-01", "bearer")]
    request = fake.requests[0]
    assert request["model_id"] == "sonic-3" and request["language"] == "en"
    assert request["voice"] == {"mode": "id", "id": "f786b574-daa5-4673-aa0c-cbe3e8534c02"}
    assert request["output_format"] == {
        "container": "raw",
        "encoding": "pcm_mulaw",
        "sample_rate": 8000,
    }
    assert request["continue"] is False and request["transcript"] == "Hello there."


async def test_messages_share_one_socket_with_separate_contexts(
    fake: FakeCartesia, tts: CartesiaTTS
) -> None:
    """Concurrent messages are multiplexed on one connection and routed by context_id."""
    first, second = await asyncio.gather(speak(tts, "First caller."), speak(tts, LONG))
    assert (first, second) == (synthetic_audio("First caller."), synthetic_audio(LONG))
    assert len(fake.handshakes) == 1 and tts.connections == 1
    assert len({r["context_id"] for r in fake.requests}) == 2


async def test_closing_early_cancels_the_context() -> None:
    """aclose() after two chunks sends cancel and the server stops generating."""
    async with FakeCartesia(KEY, chunk_interval=0.02) as fake:
        tts = websocket_engine({"endpoint": fake.url}, context())
        async with aclosing(tts.synthesize(LONG, VoiceSpec())) as chunks:
            await anext(chunks)
            await anext(chunks)
        context_id = fake.requests[0]["context_id"]
        await fake.wait_for(lambda: context_id in fake.cancels)
        stopped_at = fake.chunks_sent[context_id]
        assert await speak(tts, "Next.") == synthetic_audio("Next.")  # the socket still works
        assert fake.chunks_sent[context_id] == stopped_at
        assert stopped_at < len(synthetic_audio(LONG)) // fake.chunk_size
        await tts.aclose()


async def test_cancel_through_the_fallback_chain_reaches_cartesia() -> None:
    """Closing a FallbackTTS message closes the Cartesia context too."""
    async with FakeCartesia(KEY, chunk_interval=0.02) as fake:
        tts = websocket_engine({"endpoint": fake.url}, context())
        chain = FallbackTTS([("cartesia", tts)])
        async with aclosing(chain.synthesize(LONG, VoiceSpec())) as chunks:
            await anext(chunks)
        await fake.wait_for(lambda: fake.cancels == [fake.requests[0]["context_id"]])
        await tts.aclose()


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (404, "model_not_found", False),
        (400, "invalid_request", False),
        (429, "rate_limited", True),
        (500, "internal", True),
    ],
)
async def test_error_frames_fail_only_their_message(
    fake: FakeCartesia, tts: CartesiaTTS, status: int, code: str, retryable: bool
) -> None:
    """An error frame raises ProviderError with the right retryability; the socket lives on."""
    fake.faults.error_next = (status, code)
    with pytest.raises(ProviderError, match=code) as caught:
        await speak(tts, "Hello.")
    assert caught.value.retryable is retryable
    assert await speak(tts, "Again.") == synthetic_audio("Again.")
    assert tts.connections == 1


async def test_dropped_socket_fails_the_message_and_reconnects(
    fake: FakeCartesia, tts: CartesiaTTS
) -> None:
    """A drop mid-message is retryable; the next message opens a new socket."""
    fake.faults.drop_after_chunks = 2
    with pytest.raises(ProviderError, match="closed") as caught:
        await speak(tts, LONG)
    assert caught.value.retryable
    assert await speak(tts, "Back.") == synthetic_audio("Back.")
    assert tts.connections == 2 and len(fake.handshakes) == 2


async def test_malformed_frame_is_skipped(fake: FakeCartesia, tts: CartesiaTTS) -> None:
    """A non-JSON frame is logged and ignored."""
    fake.faults.malformed_next = True
    assert await speak(tts, "Fine.") == synthetic_audio("Fine.")


async def test_slow_first_chunk_times_out(fake: FakeCartesia) -> None:
    """No audio within ``timeout`` is a retryable failure (and the context is cancelled)."""
    fake.faults.first_chunk_delay = 1.0
    tts = websocket_engine({"endpoint": fake.url, "timeout": 0.1}, context())
    with pytest.raises(ProviderError, match="no audio"):
        await speak(tts, "Slow.")
    await fake.wait_for(lambda: len(fake.cancels) == 1)
    await tts.aclose()


async def test_bad_key_is_fatal(fake: FakeCartesia) -> None:
    """A 401 at the handshake is non-retryable and does not echo the key."""
    tts = websocket_engine({"endpoint": fake.url}, context({"CARTESIA_API_KEY": "wrong-99"}))
    with pytest.raises(ProviderError, match="401") as caught:
        await speak(tts, "Hi.")
    assert not caught.value.retryable and "wrong-99" not in str(caught.value)


async def test_old_api_versions_also_send_x_api_key(fake: FakeCartesia) -> None:
    """Versions up to 2024-11-13 add X-API-Key; newer ones send only Bearer."""
    old = websocket_engine({"endpoint": fake.url, "version": "2024-06-10"}, context())
    assert old.settings.headers()["X-API-Key"] == KEY
    assert "X-API-Key" not in websocket_engine({}, context()).settings.headers()
    assert await speak(old, "Hi.") == synthetic_audio("Hi.")
    assert fake.handshakes[0].version == "2024-06-10"
    await old.aclose()


def test_defaults_and_language_map() -> None:
    """Default wss URL; language_map picks voice and language; reprs hide the key."""
    tts = websocket_engine(
        {"language_map": {"de": {"language": "de", "voice": "v-de"}}},
        ProviderContext("credentials.yml", "tts", {"CARTESIA_API_KEY": KEY}, language="de"),
    )
    assert tts.settings.url == "wss://api.cartesia.ai/tts/websocket"
    request = tts.settings.request("Hallo", VoiceSpec(language="de"), "c1")
    assert (request["language"], request["voice"]["id"]) == ("de", "v-de")
    assert KEY not in repr(tts) and KEY not in repr(tts.settings)


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"version": "latest"}, "twilio_media_streams.tts.version"),
        ({"model": "sonic-3"}, "twilio_media_streams.tts.model"),
        ({"endpoint": "ftp://x"}, "twilio_media_streams.tts.endpoint"),
    ],
)
def test_config_errors_name_the_key(config: dict[str, Any], key: str) -> None:
    """Each invalid block is a ConfigError located at the offending key."""
    with pytest.raises(ConfigError) as caught:
        from_config(config, context())
    assert caught.value.key == key


def test_missing_key_names_the_variable() -> None:
    """No CARTESIA_API_KEY fails at start-up, naming the variable."""
    with pytest.raises(ConfigError, match="CARTESIA_API_KEY"):
        from_config({}, context({}))


async def test_built_through_the_registry(fake: FakeCartesia) -> None:
    """``tts: {name: cartesia, endpoint: ws://…}`` resolves to this engine and speaks."""
    tts = build_tts({"name": "cartesia", "endpoint": fake.url}, context())
    assert isinstance(tts, CartesiaTTS)
    assert await speak(tts, "Hi.") == synthetic_audio("Hi.")
    await tts.aclose()


async def test_warm_up_opens_the_socket_before_the_first_message(fake: FakeCartesia) -> None:
    """warm_up (also through a FallbackTTS) connects now; the message then reuses the socket."""
    tts = websocket_engine({"endpoint": fake.url}, context())
    await FallbackTTS([("cartesia", tts)]).warm_up()
    assert len(fake.handshakes) == 1 and not fake.requests
    assert await speak(tts, "Hi.") == synthetic_audio("Hi.")
    assert len(fake.handshakes) == 1
    await tts.aclose()


async def test_bytes_transport_posts_to_tts_bytes() -> None:
    """transport: bytes streams one REST response per message with the same request fields."""
    async with FakeCartesiaBytes(KEY) as fake:
        tts = from_config({"endpoint": fake.url, "transport": "bytes"}, context())
        assert isinstance(tts, CartesiaBytesTTS)
        assert tts.settings.url == f"{fake.url}/tts/bytes"
        assert await speak(tts, "Over REST.") == synthetic_audio("Over REST.")
        request = fake.requests[0]
        assert request["voice"]["mode"] == "id" and request["output_format"]["sample_rate"] == 8000
        assert fake.versions == ["2026-03-01"]
        fake.faults.statuses = [503]
        with pytest.raises(ProviderError) as caught:
            await speak(tts, "Again.")
        assert caught.value.retryable
        await tts.aclose()


async def test_websocket_then_bytes_as_a_fallback_chain(fake: FakeCartesia) -> None:
    """A websocket error hands the message to the /tts/bytes transport of the same voice."""
    async with FakeCartesiaBytes(KEY) as rest:
        chain = FallbackTTS.from_blocks(
            [
                {"name": "cartesia", "endpoint": fake.url},
                {"name": "cartesia", "endpoint": rest.url, "transport": "bytes"},
            ],
            context(),
        )
        assert [name for name, _ in chain.engines] == ["cartesia", "cartesia#1"]
        fake.faults.error_next = (500, "internal")
        audio = b"".join([c async for c in chain.synthesize("Hello.", VoiceSpec())])
        assert audio == synthetic_audio("Hello.") and len(rest.requests) == 1
        await chain.aclose()
