"""The ASR final latency histogram, derived from each turn's latency event."""

from __future__ import annotations

from prometheus_client import generate_latest
from tests.fakes.events import make

from telephonist.call.events import TurnLatency
from telephonist.server.metrics import CallMetrics


def test_asr_final_latency_is_speech_end_to_final():
    """Speech end → audio 500 ms, final → audio 200 ms: the ASR took 300 ms."""
    metrics = CallMetrics()
    metrics(make(TurnLatency, at=1.0, speech_end_to_audio_ms=500, final_to_audio_ms=200))
    text = generate_latest(metrics.registry).decode()
    assert "telephonist_asr_final_latency_seconds_count 1.0" in text
    assert "telephonist_asr_final_latency_seconds_sum 0.3" in text
    assert 'telephonist_asr_final_latency_seconds_bucket{le="0.25"} 0.0' in text
    assert 'telephonist_asr_final_latency_seconds_bucket{le="0.5"} 1.0' in text
