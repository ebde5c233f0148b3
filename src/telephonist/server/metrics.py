"""Prometheus metrics from the call event stream, served at ``GET /metrics``.

Under ``telephonist run --workers N`` every worker writes its values to files in the run's
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode, chosen by that variable
when the library is imported), and ``/metrics`` on any worker adds up all of them.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response

from telephonist.call.events import (
    BargeIn,
    BargeInResumed,
    CallEnded,
    CallEvent,
    CallStarted,
    ErrorReported,
    SilenceTimeout,
    StreamRejected,
    TtsFirstByte,
    TurnLatency,
    TurnTaken,
)
from telephonist.call.judge import TurnDecided
from telephonist.dialogue.turns import LlmReport
from telephonist.twilio.rejection import Rejection

__all__ = ["MULTIPROCESS_DIR", "CallMetrics"]

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
"""Where the workers of one run write their metrics (set by the supervisor)."""

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
_DECISION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0)
_DECISIONS = frozenset(
    {"complete", "incomplete", "continued", "unfinished", "max_wait", "late", "busy", "error"}
)
_REJECTIONS = frozenset(r.value for r in Rejection)
"""The only values the ``reason`` label of rejected messages takes (never caller input)."""


class CallMetrics:
    """An `EventBus` subscriber keeping Prometheus metrics; one registry per server."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.active = Gauge(
            "telephonist_active_calls",
            "Calls in progress",
            registry=r,
            multiprocess_mode="livesum",  # the workers' sum, of those alive
        )
        self.calls = Counter(
            "telephonist_calls_total", "Calls ended, by reason", ["reason"], registry=r
        )
        self.turn_latency = self._seconds(
            "telephonist_turn_latency_seconds", "Caller stopped speaking → first bot audio sent"
        )
        self.final_latency = self._seconds(
            "telephonist_asr_final_to_audio_seconds", "ASR final → first bot audio sent"
        )
        self.asr_latency = self._seconds(
            "telephonist_asr_final_latency_seconds",
            "Caller stopped speaking → ASR final transcript",
        )
        self.tts_first_byte = self._seconds(
            "telephonist_tts_first_byte_seconds", "TTS request → first audio chunk"
        )
        self.turn_decision = Histogram(
            "telephonist_turn_decision_seconds",
            "End-of-turn model: pause scored → decision (batching wait included)",
            buckets=_DECISION_BUCKETS,
            registry=r,
        )
        self.turn_decisions = Counter(
            "telephonist_turn_decisions_total",
            "End-of-turn decisions (complete, incomplete, continued, unfinished, max_wait, late, "
            "busy, error)",
            ["decision"],
            registry=r,
        )
        self.barge_ins = Counter(
            "telephonist_barge_ins_total", "Caller interruptions", ["trigger"], registry=r
        )
        self.barge_ins_resumed = Counter(
            "telephonist_barge_ins_resumed_total",
            "Barge-ins on hold that had no words in them: the bot resumed its message",
            ["reason"],
            registry=r,
        )
        self.barge_in_reaction = self._seconds(
            "telephonist_barge_in_reaction_seconds",
            "Caller speech onset (as the VAD dates it) → clear sent; includes min_speech_ms",
        )
        self.silences = Counter(
            "telephonist_silence_timeouts_total", "Silence timeouts", registry=r
        )
        self.errors = Counter(
            "telephonist_provider_errors_total",
            "Provider errors",
            ["source", "retryable"],
            registry=r,
        )
        self.llm_latency = self._seconds(
            "telephonist_llm_latency_seconds",
            "Command generator: prompt sent → model's answer read (or its deadline)",
        )
        self.llm_requests = Counter(
            "telephonist_llm_requests_total",
            "Command generator requests, by outcome (ok, empty, timeout, cut, error)",
            ["outcome"],
            registry=r,
        )
        self.llm_unparsed = Counter(
            "telephonist_llm_unparsed_lines_total",
            "Lines of model answers that were not commands (ignored)",
            registry=r,
        )
        self.llm_invalid = Counter(
            "telephonist_llm_invalid_commands_total",
            "Model commands naming a flow or slot the prompt did not offer (dropped)",
            registry=r,
        )
        self.nlu_decided = Counter(
            "telephonist_llm_skipped_total",
            "Messages the NLU decided alone with a command generator configured (no call)",
            registry=r,
        )
        self.rejected = Counter(
            "telephonist_rejected_messages_total",
            "Websocket messages rejected",
            ["reason"],
            registry=r,
        )

    def _seconds(self, name: str, documentation: str) -> Histogram:
        """A latency histogram in seconds, with the buckets every latency here shares."""
        return Histogram(name, documentation, buckets=_LATENCY_BUCKETS, registry=self.registry)

    def __call__(self, event: CallEvent) -> None:
        match event:
            case CallStarted():
                self.active.inc()
            case CallEnded():
                self.active.dec()
                self.calls.labels(reason=event.reason).inc()
            case TurnLatency():
                self.turn_latency.observe(event.speech_end_to_audio_ms / 1000)
                self.final_latency.observe(event.final_to_audio_ms / 1000)
                asr_ms = event.speech_end_to_audio_ms - event.final_to_audio_ms
                self.asr_latency.observe(max(0.0, asr_ms) / 1000)
            case TurnDecided():
                label = event.decision if event.decision in _DECISIONS else "other"
                self.turn_decisions.labels(decision=label).inc()
                if event.decision_ms is not None:
                    self.turn_decision.observe(event.decision_ms / 1000)
            case TtsFirstByte():
                self.tts_first_byte.observe(event.tts_ms / 1000)
            case BargeIn():
                self.barge_ins.labels(trigger=event.trigger).inc()
                if event.onset_to_clear_ms is not None:
                    self.barge_in_reaction.observe(event.onset_to_clear_ms / 1000)
            case BargeInResumed():
                self.barge_ins_resumed.labels(reason=event.reason).inc()
            case SilenceTimeout():
                self.silences.inc()
            case ErrorReported():
                retryable = str(bool(event.retryable)).lower()
                self.errors.labels(source=event.source, retryable=retryable).inc()
            case StreamRejected():
                label = event.reason if event.reason in _REJECTIONS else "other"
                self.rejected.labels(reason=label).inc(event.count)
            case TurnTaken(llm=LlmReport() as report):
                self._llm(report)

    def _llm(self, report: LlmReport) -> None:
        """A turn's command-generator report."""
        if report.path == "nlu":
            self.nlu_decided.inc()
            return
        self.llm_requests.labels(outcome=report.outcome).inc()
        self.llm_latency.observe(report.latency_ms / 1000)
        self.llm_unparsed.inc(report.unparsed)
        self.llm_invalid.inc(report.invalid)

    async def endpoint(self, request: Request) -> Response:
        """``GET /metrics`` in the Prometheus text format (every worker's, added up)."""
        registry = self.registry
        folder = os.environ.get(MULTIPROCESS_DIR)
        if folder:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
