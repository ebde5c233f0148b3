"""Batched VAD scoring across calls gives the same answers as scoring each call alone."""

from __future__ import annotations

import asyncio

import pytest

from audio_samples import load_prompt, silence
from telephonist.speech.vad.batcher import VADBatcher
from telephonist.speech.vad.silero import SileroVAD


@pytest.fixture(scope="module")
def model() -> SileroVAD:
    """One shared Silero model."""
    return SileroVAD()


async def test_batched_probabilities_match_inline(model: SileroVAD):
    """Eight calls scored concurrently through the batcher equal per-call inline scoring."""
    audio = silence(0.2) + load_prompt("agent-pass").mulaw[:8000] + silence(0.3)
    frames = [audio[i:i + 160] for i in range(0, len(audio), 160)]
    inline = model.new_stream()
    expected = [p for frame in frames for p in inline.probabilities(frame)]
    batcher = VADBatcher(model)
    streams = [model.new_stream() for _ in range(8)]

    async def call(stream) -> list[float]:
        out: list[float] = []
        for frame in frames:
            out.extend(await batcher.score(stream, frame))
        return out

    results = await asyncio.gather(*(call(s) for s in streams))
    batcher.close()
    for result in results:
        assert result == pytest.approx(expected, abs=1e-4)
    assert max(expected) > 0.8 and min(expected) < 0.2
    assert batcher.windows == 8 * len(expected)
    assert batcher.batches < batcher.windows / 2, "calls shared inferences"


async def test_a_failing_model_fails_only_the_waiting_calls():
    """An inference error reaches the callers of that batch, and the batcher keeps working."""

    class Flaky:
        calls = 0

        def probabilities_batch(self, items):
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("boom")
            return [[0.5] for _ in items]

    batcher = VADBatcher(Flaky())
    with pytest.raises(RuntimeError, match="boom"):
        await batcher.score(object(), b"\xff" * 160)
    assert await batcher.score(object(), b"\xff" * 160) == [0.5]
    batcher.close()
