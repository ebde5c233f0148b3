"""Call events as log lines: a caller's answer to a sensitive question never reaches a log."""

from __future__ import annotations

import logging

import pytest

from telephonist.call.events import CallEvent, EventKind
from telephonist.server.event_log import EventLogger


def event(kind: EventKind, **data: object) -> CallEvent:
    """An event of call CA1."""
    return CallEvent(kind, "CA1", 0.0, data)


def test_sensitive_answers_are_logged_as_sensitive(caplog: pytest.LogCaptureFixture):
    """Words, keys and the turn that answer a sensitive question are redacted; before and
    after, what the caller says is logged as it was."""
    logger = EventLogger()
    with caplog.at_level(logging.DEBUG, logger="telephonist.calls"):
        for item in (
            event(EventKind.FINAL, text="I want to pay", confidence=0.9),
            event(EventKind.TURN, event="UserText", text="I want to pay", sensitive=True),
            event(EventKind.DTMF, digit="4"),
            event(EventKind.FINAL, text="four two four two", confidence=0.9),
            event(EventKind.TURN, event="UserText", text="4242", sensitive=False),
            event(EventKind.FINAL, text="thanks", confidence=0.9),
            event(EventKind.CALL_ENDED, reason="caller hung up"),
        ):
            logger(item)
    logged = caplog.text
    assert "I want to pay" in logged and "thanks" in logged
    assert "4242" not in logged and "four two" not in logged and "digit='4'" not in logged
    assert logged.count("[sensitive]") == 3
    assert not logger._sensitive  # nothing kept once the question is answered
