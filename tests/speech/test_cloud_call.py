"""A whole call through the real server with cloud providers pointed at local fakes.

Twilio caller → uvicorn server → Deepgram ASR (fake, script mode) → assistant → a TTS chain
of Azure (fake, answering 503 once) then Deepgram Aura (fake): the greeting is spoken by the
fallback voice, the reply by the first voice once it recovers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from tests.audio_samples import load_prompt, silence
from tests.fakes.aura_server import FakeAura
from tests.fakes.azure_tts_server import FakeAzureTTS
from tests.fakes.clock import VirtualClock
from tests.fakes.deepgram_server import FakeDeepgram
from tests.fakes.scripted import ScriptedAssistant
from tests.fakes.synthetic import synthetic_audio

from telephonist.call.settings import CallSettings
from telephonist.config.channel import parse_channel
from telephonist.dialogue.turns import SessionEnd, UserText
from telephonist.server.app import create_app
from telephonist.server.runtime import Runtime
from telephonist.server.serve import bound_socket, uvicorn_server
from telephonist.simulator.caller import TwilioCaller
from telephonist.speech.asr import deepgram as deepgram_asr
from telephonist.speech.registry import ProviderContext
from telephonist.speech.tts import azure, deepgram
from telephonist.speech.tts.fallback import FallbackTTS, TTSFailure
from telephonist.speech.vad.energy import EnergyVAD

ENV = {"DEEPGRAM_API_KEY": "dg-key", "AZURE_SPEECH_API_KEY": "az-key"}
UTTERANCE = "I would like to check my order"


@dataclass
class Cloud:
    """The fakes and the server's address."""

    deepgram: FakeDeepgram
    azure: FakeAzureTTS
    aura: FakeAura
    assistant: ScriptedAssistant
    failures: list[TTSFailure]
    base_url: str

    def caller(self) -> TwilioCaller:
        """A Twilio caller for the server, over plain ws."""
        ws = self.base_url.replace("http://", "ws://") + "/webhooks/twilio_media_streams/websocket"
        return TwilioCaller(
            f"{self.base_url}/webhooks/twilio_media_streams/webhook", stream_url_override=ws
        )


@asynccontextmanager
async def cloud_server() -> AsyncIterator[Cloud]:
    """Fakes for every provider and a server whose providers point at them."""
    async with (
        FakeDeepgram("dg-key", script=[UTTERANCE]) as dg,
        FakeAzureTTS("az-key") as az,
        FakeAura("dg-key") as aura,
    ):
        sock = bound_socket()
        port = sock.getsockname()[1]
        asr_block = {"name": "deepgram", "endpoint": dg.url}
        config = parse_channel(
            {
                "server_url": f"127.0.0.1:{port}",
                "asr": asr_block,
                "tts": [
                    {"name": "azure", "endpoint": az.url},
                    {"name": "deepgram", "endpoint": aura.url},
                ],
            },
            file="credentials.yml",
            environ=ENV,
        )
        context = ProviderContext("credentials.yml", "twilio_media_streams.tts", ENV)
        failures: list[TTSFailure] = []
        tts = FallbackTTS(
            [
                ("azure", azure.from_config({"endpoint": az.url}, context)),
                ("deepgram", deepgram.from_config({"endpoint": aura.url}, context)),
            ],
            on_failure=failures.append,
        )
        asr = deepgram_asr.from_config({"endpoint": dg.url}, context)
        assistant = ScriptedAssistant()
        runtime = Runtime(
            channel=config,
            settings=CallSettings.from_channel(config, "en"),
            assistant=assistant,
            asr=asr,
            tts=tts,
            vad=EnergyVAD(),
            clock=VirtualClock(),
        )
        server = uvicorn_server(create_app(runtime))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            yield Cloud(dg, az, aura, assistant, failures, f"http://127.0.0.1:{port}")
        finally:
            server.should_exit = True
            await task
            sock.close()
            await tts.aclose()


async def test_call_with_deepgram_asr_and_a_tts_fallback_chain() -> None:
    """Greeting via the fallback voice after a 503, speech via Deepgram, reply via Azure."""
    async with cloud_server() as cloud:
        cloud.azure.faults.statuses = [503]
        caller = cloud.caller()
        await caller.dial()
        await caller.connect()
        greeting = synthetic_audio(cloud.assistant.greeting)
        await caller.wait_until(lambda: len(caller.received_audio) >= len(greeting))
        assert bytes(caller.received_audio).startswith(greeting)
        assert [r.text for r in cloud.aura.requests] == [cloud.assistant.greeting]
        assert [(f.engine, f.next_engine) for f in cloud.failures] == [("azure", "deepgram")]
        await caller.play_all()

        await caller.send_audio(load_prompt("agent-pass").mulaw + silence(1.0))
        await cloud.assistant.wait_for(lambda: bool(cloud.assistant.of_type(UserText)))
        heard = cloud.assistant.of_type(UserText)[0]
        assert isinstance(heard, UserText) and heard.text == UTTERANCE
        assert cloud.deepgram.records[0].authorization_ok
        reply = synthetic_audio(f"You said {UTTERANCE}")
        await caller.wait_until(lambda: bytes(reply) in bytes(caller.received_audio))
        assert [r.text for r in cloud.azure.requests] == [f"You said {UTTERANCE}"]

        await caller.hang_up()
        await cloud.assistant.wait_for(lambda: bool(cloud.assistant.of_type(SessionEnd)))
        await cloud.deepgram.wait_for(lambda: "CloseStream" in cloud.deepgram.records[0].controls)


async def test_call_with_cartesia_voice_cancelled_by_barge_in() -> None:
    """Cartesia speaks the greeting over its websocket; a barge-in confirmed by words cancels
    its context."""
    from tests.fakes.cartesia_server import FakeCartesia
    from tests.fakes.scripted import ScriptedASR

    from telephonist.speech.tts import cartesia
    from telephonist.speech.vad.silero import SileroVAD

    greeting = " ".join(["This is a long greeting that keeps on going."] * 6)
    env = {"CARTESIA_API_KEY": "test-cartesia-key"}
    async with FakeCartesia(chunk_interval=0.05) as fake:
        sock = bound_socket()
        port = sock.getsockname()[1]
        config = parse_channel(
            {
                "server_url": f"127.0.0.1:{port}",
                "asr": {"name": "scripted"},
                "tts": {"name": "cartesia", "endpoint": fake.url},
            },
            file="credentials.yml",
            environ=env,
        )
        context = ProviderContext("credentials.yml", "twilio_media_streams.tts", env)
        tts = cartesia.from_config({"endpoint": fake.url}, context)
        assistant = ScriptedAssistant(greeting=greeting)
        runtime = Runtime(
            channel=config,
            settings=CallSettings.from_channel(config, "en"),
            assistant=assistant,
            asr=ScriptedASR(["stop"]),
            tts=tts,
            vad=SileroVAD(),
            clock=VirtualClock(),
        )
        server = uvicorn_server(create_app(runtime))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            caller = TwilioCaller(
                f"http://127.0.0.1:{port}/webhooks/twilio_media_streams/webhook",
                stream_url_override=f"ws://127.0.0.1:{port}/webhooks/"
                "twilio_media_streams/websocket",
            )
            await caller.dial()
            await caller.connect()
            await caller.wait_until(lambda: len(caller.received_audio) >= 1600)
            assert (
                bytes(caller.received_audio)
                == synthetic_audio(greeting)[: len(caller.received_audio)]
            )
            await caller.send_audio(load_prompt("agent-pass").mulaw[:8000])
            await caller.wait_until(lambda: caller.clears == 1)
            await caller.send_audio(b"\xff" * 8000)  # the end of speech: "stop" confirms it
            await fake.wait_for(lambda: bool(fake.cancels))
            assert fake.cancels == [fake.requests[0]["context_id"]]
            await caller.hang_up()
        finally:
            server.should_exit = True
            await task
            sock.close()
            await tts.aclose()
