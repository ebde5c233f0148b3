"""The inspector's feed hub: bounded per-browser queues and the recent-call memory."""

from __future__ import annotations

from typing import Any

from tests.fakes.events import make

from telephonist.call.events import (
    AsrFinal,
    AssistantState,
    CallEnded,
    CallEvent,
    CallStarted,
    KeyPressed,
    TurnTaken,
)
from telephonist.server import inspector_feed
from telephonist.server.inspector_feed import FeedHub, Subscription


def event(kind: type[CallEvent], call_id: str, at: float, **data: Any) -> CallEvent:
    """A call event."""
    return make(kind, call_id=call_id, at=at, **data)


async def test_full_queue_drops_the_oldest_message():
    """A browser that stops reading loses its oldest messages, never blocks the publisher."""
    subscription = Subscription(size=3)
    for n in range(5):
        subscription.put({"n": n})
    assert subscription.dropped == 2
    assert [(await subscription.get())["n"] for _ in range(3)] == [2, 3, 4]


async def test_hub_snapshot_first_then_live_events_then_unsubscribe():
    """A subscriber's first message is the snapshot; later events follow; cancel stops them."""
    hub = FeedHub(now=lambda: 42.0, wall=lambda: 1700000000.0)
    hub(event(CallStarted, "CA1", 1.0, user_phone="+1555", bot_phone="+1666"))
    subscription, cancel = hub.subscribe()
    snapshot = await subscription.get()
    assert snapshot["now"] == 42.0 and snapshot["wall"] == 1700000000.0
    [call] = snapshot["calls"]
    assert (call["call_id"], call["caller"], call["callee"]) == ("CA1", "+1555", "+1666")
    hub(event(AsrFinal, "CA1", 2.0, text="hello", confidence=0.9))
    live = await subscription.get()
    assert live == {
        "type": "event",
        "event": {
            "kind": "asr.final",
            "call_id": "CA1",
            "at": 2.0,
            "text": "hello",
            "confidence": 0.9,
        },
    }
    assert hub.subscriber_count == 1
    cancel()
    assert hub.subscriber_count == 0


def test_hub_keeps_active_calls_and_forgets_the_oldest_ended(monkeypatch):
    """Beyond MAX_CALLS the oldest ended calls are forgotten; active calls always stay."""
    monkeypatch.setattr(inspector_feed, "MAX_CALLS", 3)
    hub = FeedHub(now=lambda: 0.0)
    hub(event(CallStarted, "active", 0.0))
    for n in range(4):
        hub(event(CallStarted, f"CA{n}", float(n)))
        hub(event(CallEnded, f"CA{n}", n + 0.5, reason="caller hung up"))
    assert list(hub.calls) == ["active", "CA2", "CA3"]
    assert hub.calls["CA3"].end_reason == "caller hung up"


def test_hub_makes_event_data_json_safe():
    """Values JSON cannot carry are sent as strings rather than breaking the feed."""
    hub = FeedHub(now=lambda: 0.0)
    hub(event(TurnTaken, "CA1", 0.0, state={"slots": {"when": object()}}))
    [stored] = hub.calls["CA1"].events
    assert isinstance(stored["state"]["slots"]["when"], str)


def test_a_call_resumed_on_this_instance_is_live_again():
    """A lost stream ends the call's record; its resumed stream starts it again."""
    hub = FeedHub(now=lambda: 0.0, wall=lambda: 0.0)
    hub(event(CallStarted, "CA1", 1.0, user_phone="+1555"))
    hub(event(CallEnded, "CA1", 2.0, reason="stream closed"))
    hub(event(CallStarted, "CA1", 2.1, user_phone="+1555", stream=1))
    [call] = hub.snapshot()["calls"]
    assert (call["ended_at"], call["end_reason"]) == (None, None)
    assert len(call["events"]) == 3


async def test_sensitive_answers_never_reach_the_feed_or_the_snapshot():
    """The caller's words and keys answering a sensitive question show as [sensitive], live
    and in the snapshot a browser opened later gets; before and after, as they were."""
    hub = FeedHub(now=lambda: 0.0)
    subscription, _ = hub.subscribe()
    await subscription.get()  # the (empty) snapshot
    hub(event(CallStarted, "CA1", 1.0))
    hub(event(TurnTaken, "CA1", 2.0, event="UserText", text="I want to pay", sensitive=True))
    hub(event(KeyPressed, "CA1", 3.0, digit="4"))
    hub(event(AsrFinal, "CA1", 4.0, text="four two four two", confidence=0.9))
    hub(event(TurnTaken, "CA1", 5.0, event="UserText", text="4242", sensitive=False))
    hub(event(AsrFinal, "CA1", 6.0, text="thanks", confidence=0.9))
    live = [(await subscription.get())["event"] for _ in range(6)]
    later, _ = hub.subscribe()
    [call] = (await later.get())["calls"]
    for events in (live, call["events"]):
        shown = [e.get("text", e.get("digit")) for e in events[1:]]
        assert shown == ["I want to pay", "[sensitive]", "[sensitive]", "[sensitive]", "thanks"]


async def test_slots_filled_by_a_sensitive_answer_stay_hidden_in_later_states():
    """A Rasa server's tracker arrives after the turn: the slots that changed with the
    sensitive answer show as [sensitive] from then on; other slots, before and after, as
    they are; so do the commands a model made of the answer."""
    hub = FeedHub(now=lambda: 0.0)
    hub(event(CallStarted, "CA1", 1.0))
    hub(event(TurnTaken, "CA1", 2.0, event="UserText", text="pay", sensitive=True))
    hub(event(AssistantState, "CA1", 2.5, state={"slots": {"name": "Ann"}}))
    llm = {"path": "llm", "commands": ["SetSlot(card, 4242)"]}
    hub(event(TurnTaken, "CA1", 3.0, event="UserText", text="4242", state={"llm": llm}))
    hub(event(AssistantState, "CA1", 3.5, state={"slots": {"name": "Ann", "card": "4242"}}))
    later = {"name": "Ann", "card": "4242", "amount": 10}
    hub(event(AssistantState, "CA1", 4.0, state={"slots": later}))
    [call] = hub.snapshot()["calls"]
    states = [e["state"] for e in call["events"] if e.get("state")]
    assert states[1]["llm"]["commands"] == ["[sensitive]"]
    assert [s["slots"] for s in states if "slots" in s] == [
        {"name": "Ann"},
        {"name": "Ann", "card": "[sensitive]"},
        {"name": "Ann", "card": "[sensitive]", "amount": 10},
    ]
