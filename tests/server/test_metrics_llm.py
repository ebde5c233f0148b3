"""/metrics counts what each turn's command-generator report says."""

from __future__ import annotations

from prometheus_client import generate_latest
from tests.fakes.events import make

from telephonist.call.events import CallEvent, TurnTaken
from telephonist.server.metrics import CallMetrics


def turn(state: dict[str, object]) -> CallEvent:
    """An assistant-turn event with ``state``."""
    return make(TurnTaken, at=1.0, state=state)


def test_model_turns_and_nlu_turns_are_counted() -> None:
    """Outcomes, latency, unparsed lines and dropped commands from model turns; NLU-only
    turns as skipped; turns without a report change nothing."""
    metrics = CallMetrics()
    report = {"path": "llm", "outcome": "timeout", "latency_ms": 3000.0, "commands": []}
    metrics(turn({"llm": {**report, "unparsed": 2, "invalid": 1}}))
    metrics(turn({"llm": {**report, "outcome": "ok", "latency_ms": 200.0}}))
    metrics(turn({"llm": {"path": "nlu"}}))
    metrics(turn({"slots": {}}))
    text = generate_latest(metrics.registry).decode()
    assert 'telephonist_llm_requests_total{outcome="timeout"} 1.0' in text
    assert 'telephonist_llm_requests_total{outcome="ok"} 1.0' in text
    assert "telephonist_llm_latency_seconds_count 2.0" in text
    assert "telephonist_llm_latency_seconds_sum 3.2" in text
    assert 'telephonist_llm_latency_seconds_bucket{le="0.25"} 1.0' in text
    assert "telephonist_llm_unparsed_lines_total 2.0" in text
    assert "telephonist_llm_invalid_commands_total 1.0" in text
    assert "telephonist_llm_skipped_total 1.0" in text
