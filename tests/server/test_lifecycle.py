"""A built runtime warms up and closes every provider: through the TTS cache, through the
fallback chain, and for users' own classes, whether or not they define the lifecycle."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from tests.fakes.cartesia_server import FakeCartesia
from tests.fakes.synthetic import synthetic_audio

from telephonist.errors import ConfigError, ProviderError
from telephonist.server.assembly import Paths, build_runtime, warm_up
from telephonist.server.runtime import Runtime
from telephonist.speech.asr.base import ASRCapabilities, ASREvent
from telephonist.speech.registry import ProviderContext
from telephonist.speech.tts.base import VoiceSpec
from telephonist.speech.tts.cache import CachedTTS
from telephonist.speech.tts.fallback import FallbackTTS
from telephonist.speech.user_providers import UserASR, UserTTS

KEY = "sk_car_lifecycle"
ENVIRON = {"CARTESIA_API_KEY": KEY}


class MinimalStream:
    """Only what README's "Your own engine" asks of a stream (no ``on_pause``)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send(self, audio: bytes) -> None:
        self.sent.append(audio)

    async def on_vad(self, speaking: bool) -> None:
        return None

    async def events(self) -> AsyncIterator[ASREvent]:
        return
        yield

    async def close(self) -> None:
        return None


class MinimalASR:
    """A user's ASR with no lifecycle and no capabilities."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ProviderContext) -> MinimalASR:
        return cls()

    async def open_stream(self, language: str) -> MinimalStream:
        return MinimalStream()


class MinimalTTS:
    """A user's TTS with only ``synthesize``."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ProviderContext) -> MinimalTTS:
        return cls()

    async def synthesize(self, text: str, voice: VoiceSpec) -> AsyncGenerator[bytes, None]:
        yield b"\xff" * 160


class Managed:
    """A lifecycle that records its calls."""

    def __init__(self) -> None:
        self.lifecycle: list[str] = []

    async def warm_up(self) -> None:
        self.lifecycle.append("warm_up")

    async def aclose(self) -> None:
        self.lifecycle.append("aclose")


class ManagedASR(Managed, MinimalASR):
    """A user's ASR that defines the whole lifecycle and its capabilities."""

    capabilities = ASRCapabilities(cuts_at_vad_edges=True)


class ManagedTTS(Managed, MinimalTTS):
    """A user's TTS that defines the whole lifecycle."""


class WrongCapabilities(MinimalASR):
    capabilities: ClassVar[dict[str, bool]] = {"cuts_at_vad_edges": True}


class PausingASR(MinimalASR):
    """Declares pause_ms, but its stream has no on_pause."""

    capabilities = ASRCapabilities(pause_ms=200)


class NotAnEngine:
    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ProviderContext) -> NotAnEngine:
        return cls()


def built(project: Path, asr: str, tts: str) -> Runtime:
    """A runtime for ``asr:`` and ``tts:`` blocks written as YAML flow text."""
    (project / "credentials.yml").write_text(
        f'twilio_media_streams:\n  server_url: "example.com"\n  asr: {asr}\n  tts: {tts}\n'
        "  vad: {name: energy}\n"
    )
    return build_runtime(Paths(project), ENVIRON)


@pytest.fixture
async def cartesia() -> AsyncIterator[FakeCartesia]:
    """A running fake Cartesia."""
    async with FakeCartesia(KEY) as server:
        yield server


async def test_every_provider_is_warmed_and_closed_through_cache_and_chain(
    project: Path, cartesia: FakeCartesia
) -> None:
    """build_runtime → warm_up → close reaches the ASR and each engine of a cached chain."""
    runtime = built(
        project,
        f"{{name: {__name__}.ManagedASR}}",
        f"[{{name: cartesia, endpoint: '{cartesia.url}'}}, {{name: {__name__}.ManagedTTS}}]",
    )
    assert isinstance(runtime.tts, CachedTTS) and isinstance(runtime.tts.inner, FallbackTTS)
    user_tts = runtime.tts.inner.engines[1][1]
    assert isinstance(runtime.asr, UserASR) and isinstance(runtime.asr.inner, ManagedASR)
    assert isinstance(user_tts, UserTTS) and isinstance(user_tts.inner, ManagedTTS)
    assert runtime.asr.capabilities == ASRCapabilities(cuts_at_vad_edges=True)
    assert not cartesia.handshakes

    await warm_up(runtime)
    assert len(cartesia.handshakes) == 1 and cartesia.open_sockets == 1
    assert not cartesia.requests, "connected before any message"
    assert runtime.asr.inner.lifecycle == ["warm_up"]
    assert user_tts.inner.lifecycle == ["warm_up"]

    await runtime.close()
    await cartesia.wait_for(lambda: cartesia.open_sockets == 0)
    assert runtime.asr.inner.lifecycle == ["warm_up", "aclose"]
    assert user_tts.inner.lifecycle == ["warm_up", "aclose"]


async def test_a_single_cartesia_engine_connects_at_warm_up(
    project: Path, cartesia: FakeCartesia
) -> None:
    """Behind the cache alone, Cartesia's socket is open before the first message, which
    then reuses it."""
    runtime = built(
        project,
        f"{{name: {__name__}.MinimalASR}}",
        f"{{name: cartesia, endpoint: '{cartesia.url}'}}",
    )
    await warm_up(runtime)
    assert len(cartesia.handshakes) == 1 and cartesia.open_sockets == 1
    audio = b"".join([chunk async for chunk in runtime.tts.synthesize("Hi.", VoiceSpec())])
    assert audio == synthetic_audio("Hi.") and len(cartesia.handshakes) == 1
    await runtime.close()
    await cartesia.wait_for(lambda: cartesia.open_sockets == 0)


async def test_an_unreachable_voice_does_not_stop_start_up(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A provider that cannot connect at warm-up is logged; the first message retries."""
    async with FakeCartesia(KEY) as gone:
        url = gone.url
    runtime = built(
        project, f"{{name: {__name__}.MinimalASR}}", f"{{name: cartesia, endpoint: '{url}'}}"
    )
    await warm_up(runtime)
    assert "provider.warm_up_failed tts" in caplog.text
    await runtime.close()


async def test_minimal_user_classes_get_the_default_lifecycle(project: Path) -> None:
    """Classes with only open_stream / synthesize are warmed, used and closed as no-ops,
    declare default capabilities, and their streams get an on_pause that does nothing."""
    runtime = built(project, f"{{name: {__name__}.MinimalASR}}", f"{{name: {__name__}.MinimalTTS}}")
    await warm_up(runtime)
    assert runtime.asr.capabilities == ASRCapabilities()
    # Declared, not probed: the energy VAD is scored inline; the SQLite store's claims are
    # shared by the processes on its file.
    assert runtime.vad_batcher is None and runtime.claim is not None
    assert runtime.claimed is not None
    stream = await runtime.asr.open_stream("en")
    await stream.send(b"\x7f" * 160)
    await stream.on_pause(True)
    assert [chunk async for chunk in stream.events()] == []
    await stream.close()
    assert [chunk async for chunk in runtime.tts.synthesize("Hi", VoiceSpec())] == [b"\xff" * 160]
    await runtime.close()


@pytest.mark.parametrize(
    ("asr", "message"),
    [
        ("WrongCapabilities", "WrongCapabilities.capabilities must be an ASRCapabilities"),
        ("NotAnEngine", r"NotAnEngine has no open_stream\(\) method"),
    ],
)
def test_a_user_class_that_is_not_a_provider_fails_at_start_up(
    project: Path, asr: str, message: str
) -> None:
    """The check runs when the runtime is built, and names the file and key."""
    with pytest.raises(ConfigError, match=message) as error:
        built(project, f"{{name: {__name__}.{asr}}}", f"{{name: {__name__}.MinimalTTS}}")
    assert error.value.key == "twilio_media_streams.asr.name"
    assert str(error.value.file).endswith("credentials.yml")


async def test_a_stream_that_declares_pauses_must_hear_them(project: Path) -> None:
    """A provider declaring pause_ms whose stream has no on_pause fails when a call opens it
    (not retryable: the call apologises and ends)."""
    runtime = built(project, f"{{name: {__name__}.PausingASR}}", f"{{name: {__name__}.MinimalTTS}}")
    with pytest.raises(ProviderError, match="pause_ms is declared but MinimalStream has no"):
        await runtime.asr.open_stream("en")
    await runtime.close()
