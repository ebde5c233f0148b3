"""A phone call whose assistant is driven by an LLM command generator: real sockets, real
recorded speech through the Silero VAD, scripted ASR/TTS, the real engine, and a fake
OpenAI-compatible model server answering scripted commands."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from tests.audio_samples import load_prompt, silence
from tests.fakes.openai_server import FakeLLM
from tests.fakes.scripted import spoken_length

from telephonist.call.events import EventKind, TurnLatency, TurnTaken
from telephonist.dialogue.assistant import ProjectAssistant
from telephonist.dialogue.project import load_project
from telephonist.llm import build_generator
from telephonist.stores import MemoryStore

PROJECT = Path(__file__).parent.parent / "llm" / "projects" / "parcel_line"
SPEECH = "agent-pass"


async def test_a_call_runs_on_the_models_commands(
    serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three caller turns, each answered by the model's commands: a flow without an NLU
    trigger starts, its questions are answered, the call ends with a hang-up. Each turn's
    latency names the model's share, and /metrics counts the requests."""
    replies = [
        "start flow redeliver_parcel\nset slot delivery_day friday\nset slot parcel_id AB123",
        "set slot confirm_redelivery true",
        "start flow goodbye",
    ]
    async with FakeLLM(replies) as llm:
        environ = {"PARCEL_LLM_BASE": llm.base, "PARCEL_LLM_KEY": "k"}
        for key, value in environ.items():
            monkeypatch.setenv(key, value)
        shutil.copytree(PROJECT, tmp_path / "parcel_line")
        project = load_project(tmp_path / "parcel_line")
        assistant = ProjectAssistant(
            project, MemoryStore(), commands=build_generator(project, environ)
        )
        transcripts = ["I missed parcel AB123, bring it friday", "yes", "that's all, bye"]
        # The caller sends each utterance at once: a burst above the default media budget.
        limits = {"media_burst": 60}
        async with serve(assistant=assistant, transcripts=transcripts, limits=limits) as served:
            caller = served.caller()
            await caller.dial()
            await caller.connect()
            expected = [
                ["Shall we bring parcel AB123 on friday?"],
                ["Booked.", "Is there anything else I can help you with?"],
                ["Thanks for calling the parcel line."],
            ]
            await served.wait_for_speech(caller, "Parcel line, how can I help?")
            for turn, messages in enumerate(expected, start=2):
                await caller.play_all()
                before = len(caller.received_audio)
                await caller.send_audio(load_prompt(SPEECH).mulaw + silence(1.0))
                await served.wait_event(EventKind.TURN, count=turn)
                size = before + sum(spoken_length(text) for text in messages)
                await caller.wait_until(lambda n=size: len(caller.received_audio) >= n)
            turns = served.kinds(TurnTaken)
            assert [list(t.messages) for t in turns[1:]] == expected
            assert turns[-1].hang_up
            assert [t.llm.commands[0] if t.llm else None for t in turns[1:]] == [
                "start flow redeliver_parcel",
                "set slot confirm_redelivery true",
                "start flow goodbye",
            ]
            await served.wait_event(EventKind.LATENCY, count=3)
            latencies = served.kinds(TurnLatency)
            assert all(
                e.llm_ms is not None and e.llm_ms > 0 for e in latencies
            )  # (the call's clock is virtual)
            async with httpx.AsyncClient() as http:
                metrics = (await http.get(f"{served.base_url}/metrics")).text
            assert 'telephonist_llm_requests_total{outcome="ok"} 3.0' in metrics
            assert "telephonist_llm_latency_seconds_count 3.0" in metrics
        await assistant.close()
    assert len(llm.requests) == 3
