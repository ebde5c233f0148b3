"""Call events as typed records: the JSON shape logs and the inspector send, and readers that
get typed fields (a misspelt field is a type error, not a silent gap)."""

from __future__ import annotations

import json
import sys
import textwrap
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest
from mypy import api as mypy_api
from tests.call.harness import make_call
from tests.fakes.events import event_classes, make
from tests.fakes.scripted import ScriptedAssistant

from telephonist.call.events import (
    AsrFinal,
    BargeIn,
    CallEvent,
    CallStarted,
    ErrorReported,
    EventKind,
    TtsEngineFailed,
    TurnTaken,
)
from telephonist.dialogue.turns import LlmReport
from telephonist.server.inspector_feed import FeedHub
from telephonist.server.metrics import CallMetrics

SRC = Path(__file__).resolve().parents[2] / "src"


async def wire(event: CallEvent) -> dict[str, Any]:
    """What the inspector's feed sends a browser for ``event``."""
    hub = FeedHub(now=lambda: 0.0, wall=lambda: 0.0)
    subscription, _ = hub.subscribe()
    assert (await subscription.get())["type"] == "snapshot"
    hub(event)
    message = await subscription.get()
    assert message["type"] == "event"
    sent: dict[str, Any] = message["event"]
    return sent


def test_every_kind_has_one_class_and_errors_share_theirs():
    """Each wire kind is one class; a voice failure is the one error with more to say."""
    by_kind: dict[EventKind, list[str]] = {}
    for cls in event_classes():
        by_kind.setdefault(cls.kind, []).append(cls.__name__)
    assert set(by_kind) == set(EventKind)
    assert {k: v for k, v in by_kind.items() if len(v) > 1} == {
        EventKind.ERROR: ["ErrorReported", "TtsEngineFailed"]
    }


@pytest.mark.parametrize("cls", event_classes(), ids=lambda c: c.__name__)
async def test_every_event_sends_its_kind_identity_and_fields_as_json(cls: type[CallEvent]):
    """``kind``, ``call_id``, ``at``, then every field (an optional one left out while None);
    the JSON read back equals the dict, and rebuilds an equal event."""
    event = make(cls, call_id="CA7", at=12.5)
    sent = await wire(event)
    assert sent == json.loads(json.dumps(event.as_dict()))
    assert (sent["kind"], sent["call_id"], sent["at"]) == (cls.kind.value, "CA7", 12.5)
    optional = {f.name for f in fields(cls) if f.metadata.get("omit_if_none")}
    own = {f.name for f in fields(cls)} - {"call_id", "at"}
    assert set(sent) == {"kind", "call_id", "at"} | (own - optional)
    rebuilt: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in sent.items()}
    del rebuilt["kind"]
    assert cls(**rebuilt) == event


async def test_the_inspector_gets_the_keys_it_always_got():
    """The browser reads these keys (inspector.js): the shape of a few kinds, value by value."""
    barge_in = BargeIn(trigger="speech", heard="Hel", full="Hello", pending=True)
    assert await wire(barge_in.stamped("CA1", 3.0)) == {
        "kind": "barge_in",
        "call_id": "CA1",
        "at": 3.0,
        "trigger": "speech",
        "heard": "Hel",
        "full": "Hello",
        "pending": True,
    }
    timed = BargeIn(trigger="speech", heard="", full="Hi", pending=False, onset_to_clear_ms=210.0)
    assert (await wire(timed))["onset_to_clear_ms"] == 210.0
    assert await wire(AsrFinal(text="", confidence=None)) == {
        "kind": "asr.final",
        "call_id": "",
        "at": 0.0,
        "text": "",
        "confidence": None,  # sent as null, as before: the transcript shows no confidence
    }
    started = CallStarted(user_phone="+1555", bot_phone="+1666", direction="inbound")
    assert await wire(started) == {
        "kind": "call.started",
        "call_id": "",
        "at": 0.0,
        "user_phone": "+1555",
        "bot_phone": "+1666",
        "direction": "inbound",
    }
    assert (await wire(CallStarted(stream=2)))["stream"] == 2
    failed = TtsEngineFailed(
        source="tts", engine="azure", message="503", retryable=True, next_engine=None
    )
    assert await wire(failed) == {
        "kind": "error",
        "call_id": "",
        "at": 0.0,
        "source": "tts",
        "engine": "azure",
        "message": "503",
        "retryable": True,
        "next_engine": None,
    }
    assert set(await wire(ErrorReported(source="twilio", message="x"))) == {
        "kind",
        "call_id",
        "at",
        "source",
        "message",
    }


async def test_the_command_generators_report_is_sent_inside_the_state():
    """The typed report goes on the wire as ``state["llm"]`` with the keys it always had
    (only ``path`` when the NLU decided alone); without one the state is sent as it is."""
    asked = LlmReport(
        path="llm",
        outcome="ok",
        latency_ms=412.5,
        commands=("start flow track_parcel",),
        unparsed=1,
        invalid=0,
        model="self-hosted:small-instruct",
    )
    taken = make(TurnTaken, event="UserText", text="where is it", state={"slots": {"a": 1}})
    reported = replace(taken, llm=asked)
    sent = await wire(reported)
    assert "llm" not in sent
    assert sent["state"] == {
        "slots": {"a": 1},
        "llm": {
            "path": "llm",
            "outcome": "ok",
            "latency_ms": 412.5,
            "commands": ["start flow track_parcel"],
            "unparsed": 1,
            "invalid": 0,
            "model": "self-hosted:small-instruct",
        },
    }
    nlu = await wire(replace(taken, llm=LlmReport(path="nlu")))
    assert nlu["state"] == {"slots": {"a": 1}, "llm": {"path": "nlu"}}
    assert (await wire(taken))["state"] == {"slots": {"a": 1}}
    assert reported.state == {"slots": {"a": 1}}  # the event itself is untouched


async def test_subscribers_receive_typed_events_from_a_call():
    """A real session's events arrive as their classes, stamped with the call and the time,
    with typed fields a reader can use without parsing."""
    call = make_call(assistant=ScriptedAssistant(greeting="Welcome to the line."))
    await call.session.open()
    await call.until(lambda: bool(call.of_kind(TurnTaken)))
    (taken,) = call.of_kind(TurnTaken)
    assert taken.call_id == "CA1" and taken.at == call.clock.now()
    assert taken.event == "SessionStart" and taken.messages == ("Welcome to the line.",)
    (started,) = call.of_kind(CallStarted)
    assert started.stream is None
    metrics = CallMetrics()
    for event in call.events:
        metrics(event)
    assert metrics.active._value.get() == 1.0
    await call.session.end("test over")


def test_a_misspelt_field_is_a_type_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """mypy refuses a reader naming a field the event does not have, and accepts the real
    one with its type."""
    reader = tmp_path / "reader.py"
    reader.write_text(
        textwrap.dedent(
            """
            from telephonist.call.events import BargeIn, CallEvent

            def reaction(event: CallEvent) -> float | None:
                match event:
                    case BargeIn():
                        return event.onset_to_clear_ms
                return None

            def misspelt(event: BargeIn) -> object:
                return event.onset_to_clear_msec
            """
        )
    )
    monkeypatch.setenv("MYPYPATH", str(SRC))
    options = ["--strict", "--follow-imports=silent", "--config-file=", "--no-incremental"]
    limit = sys.getrecursionlimit()
    try:
        out, _, status = mypy_api.run([*options, str(reader)])
    finally:  # mypy raises the interpreter's limit, which the rest of the session must not see
        sys.setrecursionlimit(limit)
    assert status == 1, out
    assert 'reader.py:11: error: "BargeIn" has no attribute "onset_to_clear_msec"' in out
    assert "Found 1 error" in out
