"""Batched VAD scoring across calls gives the same answers as scoring each call alone."""

from __future__ import annotations

import asyncio

import pytest
from tests.audio_samples import load_prompt, silence

from telephonist.speech.vad.batcher import VADBatcher
from telephonist.speech.vad.silero import SileroVAD


@pytest.fixture(scope="module")
def model() -> SileroVAD:
    """One shared Silero model."""
    return SileroVAD()


async def test_batched_probabilities_match_inline(model: SileroVAD):
    """Eight calls scored concurrently through the batcher equal per-call inline scoring."""
    audio = silence(0.2) + load_prompt("agent-pass").mulaw[:8000] + silence(0.3)
    frames = [audio[i : i + 160] for i in range(0, len(audio), 160)]
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

    class Stream:
        window_ms = 20.0

        def probabilities(self, audio: bytes) -> list[float]:
            return []

    batcher = VADBatcher(Flaky())
    with pytest.raises(RuntimeError, match="boom"):
        await batcher.score(Stream(), b"\xff" * 160)
    assert await batcher.score(Stream(), b"\xff" * 160) == [0.5]
    batcher.close()


async def test_a_burst_of_frames_gets_each_frames_own_windows(model: SileroVAD):
    """Frames queued together still get the windows their own bytes completed."""
    audio = load_prompt("agent-pass").mulaw[:4800]
    frames = [audio[i : i + 160] for i in range(0, len(audio), 160)]
    inline = model.new_stream()
    expected = [inline.probabilities(frame) for frame in frames]
    batcher = VADBatcher(model, max_stream_ms=1000)  # the whole burst fits one share
    stream = model.new_stream()
    got: list[list[float]] = []
    finished = asyncio.Event()

    def done(probabilities: list[float]) -> None:
        got.append(probabilities)
        if len(got) == len(frames):
            finished.set()

    for frame in frames:  # submitted at once, as after a network stall
        batcher.submit(stream, frame, done)
    await finished.wait()
    batcher.close()
    assert [len(p) for p in got] == [len(p) for p in expected]
    flat = [p for probabilities in got for p in probabilities]
    assert flat == pytest.approx([p for ps in expected for p in ps], abs=1e-4)
    assert batcher.batches == 1


async def test_a_backlog_from_one_call_is_scored_in_shares(model: SileroVAD):
    """Five seconds submitted at once by one call are scored 320 ms per batch, in order and
    correctly, while another call's frame is scored in the first batch."""
    audio = load_prompt("agent-pass").mulaw[:8000] + silence(4.0)
    frames = [audio[i : i + 160] for i in range(0, len(audio), 160)]
    inline = model.new_stream()
    expected = [p for frame in frames for p in inline.probabilities(frame)]
    sizes: list[dict[int, int]] = []

    class Recording:
        def probabilities_batch(self, items):
            sizes.append({id(stream): len(audio) for stream, audio in items})
            return model.probabilities_batch(items)

    batcher = VADBatcher(Recording(), max_stream_ms=320)
    flood, other = model.new_stream(), model.new_stream()
    scored: list[list[float]] = []
    loop = asyncio.get_running_loop()
    other_first, flood_last = loop.create_future(), loop.create_future()
    for frame in frames[:-1]:
        batcher.submit(flood, frame, scored.append)

    def last(probabilities: list[float]) -> None:
        scored.append(probabilities)
        flood_last.set_result(None)

    batcher.submit(flood, frames[-1], last)
    batcher.submit(other, b"\xff" * 256, other_first.set_result)
    await other_first
    assert id(other) in sizes[0] and sizes[0][id(flood)] <= 320 * 8
    await flood_last
    batcher.close()
    assert [p for ps in scored for p in ps] == pytest.approx(expected, abs=1e-4)
    assert all(batch.get(id(flood), 0) <= 320 * 8 for batch in sizes)
