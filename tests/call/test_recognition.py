"""When caller frames reach the ASR: on arrival, or just before the VAD's verdict."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from telephonist.call.recognition import MAX_EARLY_AUDIO, Recognition
from telephonist.errors import ProviderError
from telephonist.speech.asr.base import ASRCapabilities, ASREvent


class RecordingStream:
    """An ASR stream that records what it was given, in order; its provider declares
    ``cuts_at_vad_edges`` and ``pause_ms`` as given."""

    def __init__(self, cuts_at_vad_edges: bool, pause_ms: float | None = None) -> None:
        self.capabilities = ASRCapabilities(cuts_at_vad_edges, pause_ms)
        self.log: list[object] = []
        self.closed = False

    async def send(self, audio: bytes) -> None:
        self.log.append(audio)

    async def on_vad(self, speaking: bool) -> None:
        self.log.append(speaking)

    async def on_pause(self, paused: bool) -> None:
        self.log.append(("pause", paused))

    async def events(self) -> AsyncIterator[ASREvent]:
        return
        yield

    async def close(self) -> None:
        self.closed = True


class Provider:
    """Hands out ``stream`` (or fails without one), declaring its capabilities."""

    def __init__(self, stream: RecordingStream | None) -> None:
        self.stream = stream
        self.capabilities = stream.capabilities if stream is not None else ASRCapabilities()

    async def warm_up(self) -> None:
        """Nothing to prepare."""

    async def open_stream(self, language: str) -> RecordingStream:
        if self.stream is None:
            raise ProviderError("test", "no stream", retryable=True)
        return self.stream

    async def aclose(self) -> None:
        """Nothing to release."""


async def test_self_segmenting_engine_gets_each_frame_on_arrival() -> None:
    stream = RecordingStream(cuts_at_vad_edges=False)
    recognition = Recognition()
    await recognition.open(Provider(stream), "en")
    assert await recognition.arrived(b"a") == b""
    assert await recognition.arrived(b"b") == b""
    assert stream.log == [b"a", b"b"]  # before any verdict
    await recognition.before_verdict(b"")
    await recognition.on_vad(True)
    assert stream.log == [b"a", b"b", True]


async def test_vad_segmented_engine_never_gets_a_frame_ahead_of_its_verdict() -> None:
    """A burst of frames cannot land on the wrong side of an edge."""
    stream = RecordingStream(cuts_at_vad_edges=True)
    recognition = Recognition()
    await recognition.open(Provider(stream), "en")
    held = [await recognition.arrived(frame) for frame in (b"1", b"2", b"3")]
    assert held == [b"1", b"2", b"3"] and stream.log == []
    await recognition.before_verdict(held[0])
    await recognition.on_vad(True)  # the verdict on frame 1 is a speech start
    await recognition.before_verdict(held[1])
    await recognition.before_verdict(held[2])
    await recognition.on_vad(False)
    assert stream.log == [b"1", True, b"2", b"3", False]


async def test_audio_before_the_stream_opens_is_sent_first_and_once() -> None:
    stream = RecordingStream(cuts_at_vad_edges=True)
    recognition = Recognition()
    assert await recognition.arrived(b"early1") == b""
    assert await recognition.arrived(b"early2") == b""
    await recognition.open(Provider(stream), "en")
    await recognition.before_verdict(b"")  # the verdicts on the early frames send nothing
    assert await recognition.arrived(b"late") == b"late"
    await recognition.before_verdict(b"late")
    assert stream.log == [b"early1early2", b"late"]


async def test_early_audio_is_capped() -> None:
    recognition = Recognition()
    frame = b"\xff" * 160
    for _ in range(MAX_EARLY_AUDIO // 160 + 50):
        await recognition.arrived(frame)
    stream = RecordingStream(cuts_at_vad_edges=False)
    await recognition.open(Provider(stream), "en")
    assert sum(len(a) for a in stream.log if isinstance(a, bytes)) == MAX_EARLY_AUDIO


async def test_a_failed_open_raises_and_close_is_safe() -> None:
    recognition = Recognition()
    await recognition.arrived(b"x")
    with pytest.raises(ProviderError):
        await recognition.open(Provider(None), "en")
    await recognition.on_vad(True)  # nothing open: ignored
    await recognition.close()
    stream = RecordingStream(cuts_at_vad_edges=False)
    opened = Recognition()
    await opened.open(Provider(stream), "en")
    await opened.close()
    assert stream.closed


async def test_pauses_are_reported_once_each_way_and_reset_by_an_edge() -> None:
    stream = RecordingStream(cuts_at_vad_edges=True, pause_ms=200)
    recognition = Recognition()
    await recognition.open(Provider(stream), "en")
    due = []
    for quiet_ms in (0, 96, 192, 224, 256, 0, 0, 224, 256):
        due.append(recognition.pause_due(quiet_ms))
        await recognition.quiet(quiet_ms)
    assert due == [False, False, False, True, False, True, False, True, False]
    await recognition.on_vad(False)  # the end came: no "resumed" after it
    await recognition.quiet(0)
    assert stream.log == [("pause", True), ("pause", False), ("pause", True), False]


async def test_streams_without_pause_ms_hear_nothing_of_pauses() -> None:
    stream = RecordingStream(cuts_at_vad_edges=False)
    recognition = Recognition()
    await recognition.open(Provider(stream), "en")
    assert not recognition.pause_due(1000)
    await recognition.quiet(1000)
    assert stream.log == []
