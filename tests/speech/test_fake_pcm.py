"""The fakes' linear PCM paths, as clients that resample (e.g. Pipecat) use them: Deepgram fed
``linear16`` at 16 kHz, Cartesia asked for ``pcm_s16le`` — over real websockets, raw protocol."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest
from tests.fakes.cartesia_server import FakeCartesia
from tests.fakes.deepgram_server import FakeDeepgram
from tests.fakes.synthetic import synthetic_audio
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from telephonist.audio import mulaw

DG_KEY = "dg-key"
CA_KEY = "ca-key"
RATE = 16000


def pcm(ms: int, level: int) -> bytes:
    """``ms`` of 16 kHz linear16: a square wave of ``level`` (0: digital silence)."""
    samples = np.full(ms * RATE // 1000, level, dtype="<i2")
    samples[1::2] *= -1
    return samples.tobytes()


def listen(fake: FakeDeepgram, **query: str) -> connect:
    """A live connection with ``query`` (linear16 at 16 kHz unless given), to open."""
    params = {"model": "nova-3", "encoding": "linear16", "sample_rate": str(RATE), **query}
    url = f"{fake.url}/v1/listen?" + "&".join(f"{k}={v}" for k, v in params.items())
    return connect(url, additional_headers={"Authorization": f"Token {DG_KEY}"})


async def next_final(ws: ClientConnection) -> dict[str, Any]:
    """The next final ``Results``."""
    while True:
        message = json.loads(await ws.recv())
        if message.get("type") == "Results" and message["is_final"]:
            return message


async def test_linear16_speech_endpoints_on_zero_samples() -> None:
    """Non-zero samples are speech, zero samples silence; timing is the audio's own."""
    async with FakeDeepgram(DG_KEY, script=["book a table"], final_every=10) as fake:
        async with listen(fake, endpointing="100") as ws:
            for _ in range(25):  # 500 ms of speech in 20 ms frames, then 110 ms of zeros
                await ws.send(pcm(20, 900))
            await ws.send(pcm(50, 0))
            await ws.send(pcm(60, 0))
            final = await next_final(ws)
            await ws.send(json.dumps({"type": "CloseStream"}))
        assert final["speech_final"] is True
        assert final["channel"]["alternatives"][0]["transcript"] == "book a table"
        # 500 ms of speech and the pause up to the end of the frame that made it 100 ms long
        assert final["duration"] == pytest.approx(0.61, abs=0.001)
        assert fake.records[0].audio_bytes == (500 + 110) * RATE // 1000 * 2


async def test_linear16_rounding_noise_is_silence() -> None:
    """±1..3 (a resampler's rounding over digital silence) is silence, as mu-law would carry
    it; ±4 is sound."""
    async with FakeDeepgram(DG_KEY, script=["hello"]) as fake:
        async with listen(fake, endpointing="false", vad_events="true") as ws:
            await ws.send(pcm(300, 1) + pcm(300, 3))
            await ws.send(pcm(100, 4))
            started = json.loads(await ws.recv())
            await ws.send(json.dumps({"type": "Finalize"}))
            final = await next_final(ws)
            await ws.send(json.dumps({"type": "CloseStream"}))
        assert started == {"type": "SpeechStarted", "channel": [0, 1], "timestamp": 0.6}
        assert final["channel"]["alternatives"][0]["transcript"] == "hello"


async def test_linear16_odd_frames_and_default_endpointing() -> None:
    """Frames split mid-sample lose nothing; without ``endpointing`` in the query the fake
    endpoints after Deepgram's default of 10 ms."""
    async with FakeDeepgram(DG_KEY, script=["yes"]) as fake:
        async with listen(fake) as ws:
            audio = pcm(200, 700)
            await ws.send(audio[:301])
            await ws.send(audio[301:])
            await ws.send(pcm(10, 0))
            final = await next_final(ws)
            await ws.send(json.dumps({"type": "CloseStream"}))
        assert final["speech_final"] is True
        assert final["channel"]["alternatives"][0]["transcript"] == "yes"
        assert final["duration"] == pytest.approx(0.21, abs=0.001)


async def test_linear16_finalize_flushes_the_scripted_words() -> None:
    """With endpointing off, ``Finalize`` delivers the utterance at once."""
    async with FakeDeepgram(DG_KEY, script=["two people at seven please"]) as fake:
        async with listen(fake, endpointing="false") as ws:
            await ws.send(pcm(100, 500) + pcm(300, 0))
            await ws.send(json.dumps({"type": "Finalize"}))
            final = await next_final(ws)
            await ws.send(json.dumps({"type": "CloseStream"}))
        assert final["from_finalize"] is True
        assert final["channel"]["alternatives"][0]["transcript"] == "two people at seven please"


@pytest.mark.parametrize(
    "query",
    [{"sample_rate": "abc"}, {"encoding": "mulaw", "sample_rate": "16000"}, {"encoding": "opus"}],
)
async def test_other_audio_formats_are_still_refused(query: dict[str, str]) -> None:
    """Linear16 needs a numeric rate; mu-law stays at 8 kHz only."""
    async with FakeDeepgram(DG_KEY) as fake:
        with pytest.raises(InvalidStatus) as refused:
            await listen(fake, **query)
        assert refused.value.response.status_code == 400


def request(context_id: str, transcript: str, **extra: Any) -> str:
    """A Cartesia generation request for 24 kHz pcm_s16le."""
    return json.dumps(
        {
            "model_id": "sonic-3",
            "transcript": transcript,
            "voice": {"mode": "id", "id": "voice-1"},
            "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 24000},
            "context_id": context_id,
            **extra,
        }
    )


async def tts_frames(fake: FakeCartesia, *messages: str) -> list[dict[str, Any]]:
    """Send ``messages`` on one socket; every frame up to the first ``done`` or ``error``."""
    url = f"{fake.url}/tts/websocket?cartesia_version=2026-03-01"
    frames: list[dict[str, Any]] = []
    async with connect(url, additional_headers={"X-API-Key": CA_KEY}) as ws:
        for message in messages:
            await ws.send(message)
        while not frames or frames[-1]["type"] not in ("done", "error"):
            frames.append(json.loads(await ws.recv()))
    return frames


def audio_of(frames: list[dict[str, Any]]) -> bytes:
    """The chunks' audio, in order."""
    return b"".join(base64.b64decode(f["data"]) for f in frames if f["type"] == "chunk")


async def test_pcm_s16le_is_the_synthetic_audio_at_the_requested_rate() -> None:
    """Same sound, same chunk durations as the mu-law path, three samples per 8 kHz one."""
    async with FakeCartesia(CA_KEY) as fake:
        frames = await tts_frames(fake, request("c1", "Sure, let me help you with that."))
    expected = mulaw.decode(synthetic_audio("Sure, let me help you with that."))
    audio = np.frombuffer(audio_of(frames), dtype="<i2")
    assert np.array_equal(audio, np.repeat(expected, 3))
    chunks = [len(base64.b64decode(f["data"])) for f in frames if f["type"] == "chunk"]
    assert chunks[0] == 320 * 3 * 2  # 40 ms, as the mu-law path's 320 bytes
    assert frames[-1]["type"] == "done"


async def test_continued_context_is_done_after_its_last_piece() -> None:
    """Pieces with ``continue: true`` play in order (at the pace asked for); the empty closing
    piece adds nothing."""
    async with FakeCartesia(CA_KEY, bytes_per_char=480) as fake:
        frames = await tts_frames(
            fake,
            request("c2", "Hello there. ", **{"continue": True}),
            request("c2", "How are you?", **{"continue": True}),
            request("c2", "", **{"continue": False}),
        )
    pieces = [synthetic_audio(t, bytes_per_char=480) for t in ("Hello there. ", "How are you?")]
    both = mulaw.decode(b"".join(pieces))
    assert np.array_equal(np.frombuffer(audio_of(frames), dtype="<i2"), np.repeat(both, 3))
    assert [f["type"] for f in frames].count("done") == 1


async def test_undocumented_pcm_rate_is_an_error() -> None:
    """Only the documented sample rates are served."""
    bad = json.loads(request("c3", "Hi"))
    bad["output_format"]["sample_rate"] = 12345
    async with FakeCartesia(CA_KEY) as fake:
        frames = await tts_frames(fake, json.dumps(bad))
    assert frames[-1]["type"] == "error" and frames[-1]["message"] == "unsupported output_format"
