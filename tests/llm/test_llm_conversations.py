"""Conversations driven by a model's commands, over real HTTP to a fake model server."""

from __future__ import annotations

from collections.abc import Callable

from tests.fakes.openai_server import FakeLLM
from tests.llm.conftest import KEY, Call

from telephonist.dialogue.turns import LlmReport

REPHRASE = "I'm sorry, I didn't quite understand that. Could you rephrase?"


async def test_flows_without_nlu_triggers_run_on_the_models_commands(
    call: Callable[[str], Call], llm: FakeLLM
) -> None:
    """A CALM project with no NLU at all: every message is the model's, and its commands
    start flows, answer questions (also ahead of time) and end the call."""
    llm.replies = [
        "start flow redeliver_parcel\nset slot delivery_day Friday",
        "set slot parcel_id AB123",
        "set slot confirm_redelivery True",
        "start flow goodbye",
    ]
    parcel = call("parcel_line")
    assert await parcel.start() == ["Parcel line, how can I help?"]
    assert await parcel.say("I missed my parcel, can you bring it on friday") == [
        "What is the tracking number?"
    ]
    assert await parcel.say("it's A B one two three") == ["Shall we bring parcel AB123 on friday?"]
    assert await parcel.say("yes please") == [
        "Booked.",
        "Is there anything else I can help you with?",
    ]
    assert await parcel.say("no thanks, bye") == ["Thanks for calling the parcel line."]
    assert parcel.last.hang_up
    assert len(llm.requests) == 4


async def test_the_request_is_an_openai_chat_completion_with_the_key(
    call: Callable[[str], Call], llm: FakeLLM
) -> None:
    """One user message, streamed, with the model's name and params and a Bearer key."""
    llm.replies = ["start flow track_parcel"]
    parcel = call("parcel_line")
    await parcel.start()
    await parcel.say("where is my parcel")
    request = llm.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = request.body
    assert (body["model"], body["stream"], body["temperature"]) == ("small-instruct", True, 0.2)
    assert body["max_tokens"] == 256
    assert [m["role"] for m in body["messages"]] == ["user"]


async def test_the_prompt_has_the_flows_the_question_and_the_call_so_far(
    call: Callable[[str], Call], llm: FakeLLM
) -> None:
    """Our prompt lists each flow with its description and slots, the question being
    asked with its description and allowed values, the values so far, and the call."""
    llm.replies = ["start flow redeliver_parcel\nset slot parcel_id XY9", "cannot handle"]
    parcel = call("parcel_line")
    await parcel.start()
    await parcel.say("parcel XY9 needs a new day")
    await parcel.say("hmm")
    first, second = llm.requests[0].prompt, llm.requests[1].prompt
    assert "- track_parcel: Tell the caller where their parcel is right now." in first
    assert "slot parcel_id: the tracking number on the delivery note" in first
    assert "No process is running." in first
    assert "confirm_redelivery" not in first  # asked before filling: not offered ahead
    assert "Running now: redeliver_parcel." in second
    assert "just asked for delivery_day (a weekday for the new delivery), one of" in second
    assert "- parcel_id = XY9 (text)" in second
    assert "AI: Parcel line, how can I help?\nUSER: parcel XY9 needs a new day" in second
    assert 'Commands for the caller\'s last words, "hmm"' in second


async def test_the_turn_reports_what_the_model_did(
    call: Callable[[str], Call], llm: FakeLLM
) -> None:
    """The turn's report says the model's commands, outcome and latency; ``llm_ms`` is set;
    the tracker keeps the commands in the message's parse data, as Rasa does."""
    llm.replies = ["start flow track_parcel\nset slot nonsense 1\nlet me think"]
    parcel = call("parcel_line")
    await parcel.start()
    assert parcel.last.llm_ms is None and parcel.last.llm is None
    await parcel.say("where is my parcel")
    report = parcel.last.llm
    assert report is not None
    assert report.path == "llm" and report.outcome == "ok"
    assert report.commands == ("start flow track_parcel",)
    assert (report.unparsed, report.invalid) == (1, 1)
    assert report.model == "self-hosted:small-instruct"
    assert parcel.last.llm_ms is not None and parcel.last.llm_ms == report.latency_ms
    assert "llm" not in parcel.last.state
    tracker = parcel.assistant._hot["call-1"]
    assert tracker.latest_message["commands"] == ["start flow track_parcel"]


async def test_a_model_that_says_nothing_usable_is_asked_to_rephrase(
    call: Callable[[str], Call], llm: FakeLLM
) -> None:
    """Prose only (or unknown names) becomes pattern_cannot_handle, not an error."""
    llm.replies = ["Sure, I would love to help you with your parcel!"]
    parcel = call("parcel_line")
    await parcel.start()
    assert await parcel.say("hello?") == [REPHRASE]
    report = parcel.last.llm
    assert report is not None
    assert (report.outcome, report.commands) == ("empty", ("cannot handle",))


async def test_the_nlu_decides_alone_when_it_is_confident(
    call: Callable[[str], Call], llm: FakeLLM
) -> None:
    """With NLU data: a confident nlu_trigger starts its flow and a typed answer fills an
    NLU-mapped question without a model call; a from_llm question and a flow without a
    trigger go to the model."""
    llm.replies = ["set slot account savings", "start flow order_checkbook"]
    bank = call("bank_line")
    await bank.start()
    assert await bank.say("what is my balance") == ["Checking or savings?"]
    assert bank.last.llm == LlmReport(path="nlu")
    assert len(llm.requests) == 0
    assert await bank.say("the one with the interest") == [
        "Your savings balance is 120 dollars.",
        "Is there anything else I can help you with?",
    ]
    assert len(llm.requests) == 1
    assert await bank.say("I want to transfer money") == ["How much?"]
    assert await bank.say("fifty") == [
        "Sent 50 dollars.",
        "Is there anything else I can help you with?",
    ]
    assert len(llm.requests) == 1
    assert await bank.say("my checks ran out") == [
        "A new checkbook is on its way.",
        "Is there anything else I can help you with?",
    ]
    assert len(llm.requests) == 2


async def test_keys_and_typed_intents_never_go_to_the_model(
    call: Callable[[str], Call], llm: FakeLLM
) -> None:
    """DTMF and ``/intent`` are the NLU's; the old call form works for a SingleStep
    generator's custom prompt as for ours."""
    llm.replies = ["StartFlow(order_checkbook)"]
    bank = call("bank_line")
    await bank.start()
    assert await bank.say("/transfer", source="typed") == ["How much?"]
    assert await bank.say("20", source="dtmf") == [
        "Sent 20 dollars.",
        "Is there anything else I can help you with?",
    ]
    assert llm.requests == []
    assert await bank.say("new checks please") == [
        "A new checkbook is on its way.",
        "Is there anything else I can help you with?",
    ]
