"""Random event sequences never make the engine raise, and every turn stays JSON-able."""

from __future__ import annotations

import json
import random

import pytest

from telephonist.dialogue.engine import Engine
from telephonist.dialogue.project import Project
from telephonist.dialogue.turns import (
    BargedIn,
    SessionEnd,
    SessionStart,
    Silence,
    UserEvent,
    UserText,
)

ODD_TEXTS = [
    "twelve",
    "two",
    "friday",
    "no wait thursday",
    "yes",
    "no",
    "12345",
    "blah",
    "",
    "   ",
    "/greet",
    "/unknown",
    "cancel",
    "one two three four five",
    "¿qué?",
]
KEYS = ["1", "2", "3", "9", "12345#", "123#", "#", "*"]


def _event(rng: random.Random, texts: list[str]) -> UserEvent:
    roll = rng.random()
    if roll < 0.05:
        return SessionStart({})
    if roll < 0.15:
        return Silence(rng.randint(1, 4))
    if roll < 0.25:
        return UserText(rng.choice(KEYS), source="dtmf")
    if roll < 0.28:
        return BargedIn("heard", "heard and more")
    if roll < 0.30:
        return SessionEnd("caller hung up")
    return UserText(rng.choice(texts))


@pytest.mark.parametrize("seed", range(40))
def test_random_calls(starter: Project, engine: Engine, seed: int) -> None:
    """Thirty random events per call: no exception, state serialisable, hang-up ends flows."""
    rng = random.Random(seed)
    texts = [e.text for items in starter.nlu.examples.values() for e in items] + ODD_TEXTS
    tracker = engine.new_tracker(f"fuzz-{seed}")
    for _ in range(30):
        turn = engine.handle(tracker, _event(rng, texts))
        json.dumps(turn.state)
        json.dumps(tracker.to_dict())
        if turn.hang_up or turn.transfer_to:
            assert turn.state["flow_stack"] == []
