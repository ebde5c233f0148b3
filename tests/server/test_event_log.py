"""Call events as log lines: a caller's answer to a sensitive question never reaches a log."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from tests.fakes.events import make

from telephonist.call.events import AsrFinal, CallEnded, CallEvent, KeyPressed, TurnTaken
from telephonist.server.event_log import EventLogger


def event(kind: type[CallEvent], **data: Any) -> CallEvent:
    """An event of call CA1."""
    return make(kind, **data)


def test_sensitive_answers_are_logged_as_sensitive(caplog: pytest.LogCaptureFixture):
    """Words, keys and the turn that answer a sensitive question are redacted; before and
    after, what the caller says is logged as it was."""
    logger = EventLogger()
    with caplog.at_level(logging.DEBUG, logger="telephonist.calls"):
        for item in (
            event(AsrFinal, text="I want to pay", confidence=0.9),
            event(TurnTaken, event="UserText", text="I want to pay", sensitive=True),
            event(KeyPressed, digit="4"),
            event(AsrFinal, text="four two four two", confidence=0.9),
            event(TurnTaken, event="UserText", text="4242", sensitive=False),
            event(AsrFinal, text="thanks", confidence=0.9),
            event(CallEnded, reason="caller hung up"),
        ):
            logger(item)
    logged = caplog.text
    assert "I want to pay" in logged and "thanks" in logged
    assert "4242" not in logged and "four two" not in logged and "digit='4'" not in logged
    assert logged.count("[sensitive]") == 3
    assert not logger._sensitive._open  # nothing kept once the question is answered
