"""The end-of-turn decision metrics, from the turn model's events."""

from __future__ import annotations

from prometheus_client import generate_latest
from tests.fakes.events import make

from telephonist.call.judge import TurnDecided
from telephonist.server.metrics import CallMetrics


def test_decisions_are_counted_and_timed() -> None:
    """Each decision counts under its label; those the model answered are timed."""
    metrics = CallMetrics()
    metrics(make(TurnDecided, decision="incomplete", decision_ms=40.0))
    metrics(make(TurnDecided, decision="complete", decision_ms=120.0))
    metrics(make(TurnDecided, decision="max_wait"))
    metrics(make(TurnDecided, decision="busy"))
    metrics(make(TurnDecided, decision="continued"))
    metrics(make(TurnDecided, decision="caller text, never a label"))
    text = generate_latest(metrics.registry).decode()
    assert 'telephonist_turn_decisions_total{decision="incomplete"} 1.0' in text
    assert 'telephonist_turn_decisions_total{decision="complete"} 1.0' in text
    assert 'telephonist_turn_decisions_total{decision="max_wait"} 1.0' in text
    assert 'telephonist_turn_decisions_total{decision="busy"} 1.0' in text
    assert 'telephonist_turn_decisions_total{decision="continued"} 1.0' in text
    assert 'telephonist_turn_decisions_total{decision="other"} 1.0' in text
    assert "telephonist_turn_decision_seconds_count 2.0" in text
    assert 'telephonist_turn_decision_seconds_bucket{le="0.05"} 1.0' in text
    assert 'telephonist_turn_decision_seconds_bucket{le="0.15"} 2.0' in text
