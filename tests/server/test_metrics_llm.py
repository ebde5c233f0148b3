"""/metrics counts what each turn's command-generator report says."""

from __future__ import annotations

from dataclasses import replace

from prometheus_client import generate_latest
from tests.fakes.events import make

from telephonist.call.events import CallEvent, TurnTaken
from telephonist.dialogue.turns import LlmReport
from telephonist.server.metrics import CallMetrics


def turn(report: LlmReport | None) -> CallEvent:
    """An assistant-turn event with the command generator's ``report``."""
    return make(TurnTaken, at=1.0, state={"slots": {}}, llm=report)


def test_model_turns_and_nlu_turns_are_counted() -> None:
    """Outcomes, latency, unparsed lines and dropped commands from model turns; NLU-only
    turns as skipped; turns without a report change nothing."""
    metrics = CallMetrics()
    timeout = LlmReport(path="llm", outcome="timeout", latency_ms=3000.0)
    metrics(turn(replace(timeout, unparsed=2, invalid=1)))
    metrics(turn(replace(timeout, outcome="ok", latency_ms=200.0, commands=("cannot handle",))))
    metrics(turn(LlmReport(path="nlu")))
    metrics(turn(None))
    text = generate_latest(metrics.registry).decode()
    assert 'telephonist_llm_requests_total{outcome="timeout"} 1.0' in text
    assert 'telephonist_llm_requests_total{outcome="ok"} 1.0' in text
    assert "telephonist_llm_latency_seconds_count 2.0" in text
    assert "telephonist_llm_latency_seconds_sum 3.2" in text
    assert 'telephonist_llm_latency_seconds_bucket{le="0.25"} 1.0' in text
    assert "telephonist_llm_unparsed_lines_total 2.0" in text
    assert "telephonist_llm_invalid_commands_total 1.0" in text
    assert "telephonist_llm_skipped_total 1.0" in text
