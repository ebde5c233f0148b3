"""The streaming client and the generator against a misbehaving model server: slow,
stalled, cut, failing, garbled; every provider's URL and key header; no key in any text."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from tests.fakes.openai_server import FakeLLM

from telephonist.dialogue.commands import SetSlot, StartFlow
from telephonist.dialogue.llm_context import PromptContext
from telephonist.dialogue.llm_settings import GeneratorSettings, ModelSettings
from telephonist.dialogue.llm_turn import Generated
from telephonist.llm.generator import LLMCommandGenerator

KEY = "sk-live-do-not-print-4242"
CONTEXT = PromptContext(
    {
        "available_flows": [{"name": "book", "description": "Book a table.", "slots": []}],
        "current_flow": None,
        "current_slot": None,
        "current_slot_description": None,
        "current_slot_type": None,
        "current_slot_allowed_values": None,
        "flow_slots": [],
        "current_conversation": "USER: a table please",
        "user_message": "a table please",
    },
    flows=frozenset({"book"}),
    slots=frozenset({"guests"}),
    conversation_id="c1",
)


def settings(fake: FakeLLM, *models: ModelSettings, timeout: float = 2.0) -> GeneratorSettings:
    """A generator over ``models`` (default: one self-hosted model on the fake)."""
    model = ModelSettings("self-hosted", "m1", api_base=fake.base, api_key="${LLM_KEY}")
    return GeneratorSettings("CompactLLMCommandGenerator", models or (model,), timeout=timeout)


async def generate(settings: GeneratorSettings, context: PromptContext = CONTEXT) -> Generated:
    """One generation with a fresh generator (closed afterwards)."""
    generator = LLMCommandGenerator(settings, {"LLM_KEY": KEY})
    try:
        return await generator.generate(context)
    finally:
        await generator.aclose()


async def test_commands_stream_in_chunk_by_chunk(llm: FakeLLM) -> None:
    """A reply split into 2-character events still reads as its commands."""
    llm.chunk = 2
    llm.replies = ["start flow book\nset slot guests 4\n"]
    result = await generate(settings(llm))
    assert result.commands == (StartFlow("book"), SetSlot("guests", "4"))
    assert (result.outcome, result.unparsed, result.invalid) == ("ok", 0, 0)
    assert result.latency_ms > 0


async def test_a_slow_model_times_out_into_no_commands(llm: FakeLLM) -> None:
    """Nothing by the deadline: no commands, outcome timeout, latency about the timeout."""
    llm.replies = ["start flow book"]
    llm.faults = [("slow", 5.0)]
    result = await generate(settings(llm, timeout=0.3))
    assert (result.commands, result.outcome) == ((), "timeout")
    assert 250 <= result.latency_ms < 2000


async def test_what_arrived_before_the_deadline_is_acted_on(llm: FakeLLM) -> None:
    """A model that stalls after its first line: that line's command is kept."""
    llm.replies = ["start flow book\nset slot guests 4\n"]
    llm.faults = [("stall", len("start flow book\nset sl"))]
    result = await generate(settings(llm, timeout=0.5))
    assert (result.commands, result.outcome) == ((StartFlow("book"),), "timeout")


async def test_a_stream_cut_mid_way_keeps_its_complete_lines(llm: FakeLLM) -> None:
    """The connection drops inside the second line: the first line counts, the half line
    does not, and the next model is not asked (it had started answering)."""
    llm.replies = ["start flow book\nset slot guests 4\n", "start flow book"]
    llm.faults = [("cut", len("start flow book\nset slot gue"))]
    second = ModelSettings("self-hosted", "m2", api_base=llm.base)
    first = ModelSettings("self-hosted", "m1", api_base=llm.base)
    result = await generate(settings(llm, first, second))
    assert (result.commands, result.outcome) == ((StartFlow("book"),), "cut")
    assert len(llm.requests) == 1


async def test_a_failing_model_hands_over_to_the_next_one(
    llm: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    """HTTP 500 from the first model of the group: the second answers."""
    llm.replies = ["start flow book"]
    llm.faults = [("status", 500)]
    first = ModelSettings("self-hosted", "m1", api_base=llm.base)
    second = ModelSettings("self-hosted", "m2", api_base=llm.base)
    with caplog.at_level(logging.WARNING, logger="telephonist.llm"):
        result = await generate(settings(llm, first, second))
    assert (result.commands, result.outcome, result.model) == (
        (StartFlow("book"),),
        "ok",
        "self-hosted:m2",
    )
    assert [r.body["model"] for r in llm.requests] == ["m1", "m2"]
    assert "HTTP 500" in caplog.text


async def test_when_every_model_fails_the_outcome_is_error(llm: FakeLLM) -> None:
    """No model answers: no commands, outcome error (the turn says cannot-handle)."""
    llm.faults = [("status", 503)]
    result = await generate(settings(llm))
    assert (result.commands, result.outcome) == ((), "error")


async def test_an_unreachable_server_is_an_error_not_a_crash(llm: FakeLLM) -> None:
    """Nothing listens at the address: outcome error."""
    model = ModelSettings("self-hosted", "m1", api_base="http://127.0.0.1:9/v1")
    result = await generate(settings(llm, model))
    assert result.outcome == "error"


async def test_garbled_events_are_skipped(llm: FakeLLM) -> None:
    """Events that are not JSON, or have no choices, or are comments, are ignored."""
    llm.replies = ["start flow book"]
    llm.faults = [("garbage", 0)]
    result = await generate(settings(llm))
    assert result.commands == (StartFlow("book"),)


async def test_a_server_that_ignores_streaming_is_read_too(llm: FakeLLM) -> None:
    """One JSON completion instead of events: its message content is read."""
    llm.replies = ["StartFlow(book)\nSetSlot(guests, 2)"]
    llm.faults = [("json", 0)]
    result = await generate(settings(llm))
    assert result.commands == (StartFlow("book"), SetSlot("guests", "2"))


async def test_the_key_never_appears_in_logs_or_reprs(
    llm: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    """A server that echoes the credentials in its error text: the log line has '***'."""
    llm.faults = [("echo", 401)]
    with caplog.at_level(logging.DEBUG):
        result = await generate(settings(llm))
    assert result.outcome == "error"
    assert llm.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert "bad key Bearer ***" in caplog.text
    assert KEY not in caplog.text
    generator = LLMCommandGenerator(settings(llm), {"LLM_KEY": KEY})
    assert KEY not in repr(generator.clients) + repr(generator.settings)
    await generator.aclose()


async def test_azure_uses_its_deployment_url_and_api_key_header(llm: FakeLLM) -> None:
    """Azure OpenAI: /openai/deployments/NAME/chat/completions?api-version=V, key in
    the api-key header, base and version from the environment when not written."""
    llm.replies = ["start flow book"]
    model = ModelSettings("azure", "gpt-4o", deployment="prod-gpt")
    generator = LLMCommandGenerator(
        settings(llm, model),
        {"AZURE_API_KEY": KEY, "AZURE_API_BASE": llm.url, "AZURE_API_VERSION": "2024-06-01"},
    )
    try:
        result = await generator.generate(CONTEXT)
    finally:
        await generator.aclose()
    assert result.commands == (StartFlow("book"),)
    request = llm.requests[0]
    assert request.path == "/openai/deployments/prod-gpt/chat/completions"
    assert request.query == {"api-version": "2024-06-01"}
    assert request.headers["api-key"] == KEY and "authorization" not in request.headers


async def test_openai_without_api_base_follows_openai_api_base(llm: FakeLLM) -> None:
    """An unchanged Rasa project (provider openai, no api_base) is pointed at a local
    server with OPENAI_API_BASE, as Rasa's LiteLLM reads it; the key is OPENAI_API_KEY."""
    llm.replies = ["start flow book"]
    model = ModelSettings("openai", "gpt-4o")
    generator = LLMCommandGenerator(
        settings(llm, model), {"OPENAI_API_BASE": llm.base, "OPENAI_API_KEY": KEY}
    )
    try:
        result = await generator.generate(CONTEXT)
    finally:
        await generator.aclose()
    assert result.commands == (StartFlow("book"),)
    assert llm.requests[0].headers["authorization"] == f"Bearer {KEY}"


async def test_ollama_is_spoken_to_on_its_v1_endpoint(llm: FakeLLM) -> None:
    """Ollama's api_base is the server (http://host:11434): /v1 is added."""
    llm.replies = ["start flow book"]
    model = ModelSettings("ollama", "llama3.1", api_base=llm.url)
    result = await generate(settings(llm, model))
    assert result.commands == (StartFlow("book"),)
    assert llm.requests[0].path == "/v1/chat/completions"
    assert "authorization" not in llm.requests[0].headers


async def test_a_projects_own_template_replaces_ours(llm: FakeLLM) -> None:
    """prompt_template text is rendered with the same inputs; a template that fails at
    render time gives outcome error instead of raising."""
    llm.replies = ["start flow book"]
    custom = replace(
        settings(llm),
        prompt_template="Flows: {% for f in available_flows %}{{ f.name }}{% endfor %}",
    )
    result = await generate(custom)
    assert llm.requests[0].prompt == "Flows: book"
    assert result.commands == (StartFlow("book"),)
    broken = replace(settings(llm), prompt_template="{{ user_message.upper(1, 2, 3) }}")
    result = await generate(broken)
    assert (result.commands, result.outcome) == ((), "error")
    assert len(llm.requests) == 1
