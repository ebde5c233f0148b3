"""One smoke test per cloud provider against the real service.

Marked ``live``; each is skipped unless its API key variable is set (and, for Azure ASR, the
SDK is installed). Run with ``pytest -m live tests/speech/test_live.py``.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from tests.audio_samples import load_prompt, silence, word_error_rate

from telephonist.speech.asr.base import ASRError, Final
from telephonist.speech.registry import ProviderContext, build_asr, build_tts
from telephonist.speech.tts.base import VoiceSpec

pytestmark = pytest.mark.live


def context(variable: str) -> ProviderContext:
    """A context over the real environment; skips when ``variable`` is unset."""
    if not os.environ.get(variable):
        pytest.skip(f"{variable} is not set")
    return ProviderContext(file="live", key="asr", environ=dict(os.environ))


async def transcribe(block: dict[str, object], variable: str) -> str:
    """Send a recorded prompt in 20 ms frames at real-time pace; the first Final's text."""
    asr = build_asr(block, context(variable))
    prompt = load_prompt("agent-pass")
    stream = await asr.open_stream("en")
    audio = prompt.mulaw + silence(1.5)

    async def feed() -> None:
        for offset in range(0, len(audio), 160):
            await stream.send(audio[offset : offset + 160])
            await asyncio.sleep(0.02)

    sender = asyncio.create_task(feed())
    try:
        async with asyncio.timeout(30):
            async for event in stream.events():
                assert not isinstance(event, ASRError), event.message
                if isinstance(event, Final):
                    assert word_error_rate(prompt.text, event.text) < 0.5
                    return event.text
    finally:
        sender.cancel()
        await stream.close()
    raise AssertionError("no Final")


async def synthesize(block: dict[str, object], variable: str) -> bytes:
    """All the audio for one short message."""
    tts = build_tts(block, context(variable))
    audio = b"".join([c async for c in tts.synthesize("Your table is booked.", VoiceSpec())])
    await tts.aclose()
    return audio


async def test_deepgram_asr_live() -> None:
    """Deepgram Nova transcribes a recorded telephone prompt."""
    assert await transcribe({"name": "deepgram"}, "DEEPGRAM_API_KEY")


async def test_azure_asr_live() -> None:
    """Azure Speech (SDK) transcribes a recorded telephone prompt."""
    pytest.importorskip("azure.cognitiveservices.speech")
    region = os.environ.get("AZURE_SPEECH_REGION", "eastus")
    assert await transcribe({"name": "azure", "speech_region": region}, "AZURE_SPEECH_API_KEY")


async def test_azure_tts_live() -> None:
    """Azure TTS returns headerless mu-law (no RIFF header) for a short message."""
    region = os.environ.get("AZURE_SPEECH_REGION", "eastus")
    audio = await synthesize({"name": "azure", "speech_region": region}, "AZURE_SPEECH_API_KEY")
    assert len(audio) > 4000 and not audio.startswith(b"RIFF")


async def test_cartesia_tts_live() -> None:
    """Cartesia returns raw mu-law for a short message."""
    audio = await synthesize({"name": "cartesia"}, "CARTESIA_API_KEY")
    assert len(audio) > 4000 and not audio.startswith(b"RIFF")


async def test_deepgram_tts_live() -> None:
    """Deepgram Aura returns headerless mu-law for a short message."""
    audio = await synthesize({"name": "deepgram"}, "DEEPGRAM_API_KEY")
    assert len(audio) > 4000 and not audio.startswith(b"RIFF")
