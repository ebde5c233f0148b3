"""Fixtures for the LLM command generator: a fake OpenAI-compatible server and the test
projects under tests/llm/projects, wired to it."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import pytest
from tests.fakes.openai_server import FakeLLM

from telephonist.dialogue.assistant import ProjectAssistant
from telephonist.dialogue.project import Project, load_project
from telephonist.dialogue.turns import AssistantTurn, SessionStart, UserText
from telephonist.llm import build_generator
from telephonist.stores import MemoryStore

PROJECTS = Path(__file__).parent / "projects"
KEY = "sk-test-0123456789abcdef"


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    """A running fake model server with no scripted replies yet."""
    async with FakeLLM() as fake:
        yield fake


def environ_for(fake: FakeLLM) -> dict[str, str]:
    """The environment the test projects read their model settings from."""
    return {
        "PARCEL_LLM_BASE": fake.base,
        "PARCEL_LLM_KEY": KEY,
        "BANK_LLM_BASE": fake.base,
        "OPENAI_API_KEY": KEY,
    }


@pytest.fixture
def project(
    tmp_path: Path, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], Project]:
    """``project("parcel_line")``: a private copy of a test project, loaded with the fake
    server's address in the environment."""

    def load(name: str) -> Project:
        for key, value in environ_for(llm).items():
            monkeypatch.setenv(key, value)
        target = tmp_path / name
        shutil.copytree(PROJECTS / name, target)
        return load_project(target)

    return load


class Call:
    """One conversation with a ProjectAssistant whose generator asks the fake server."""

    def __init__(self, project: Project, environ: Mapping[str, str]) -> None:
        self.assistant = ProjectAssistant(
            project, MemoryStore(), seed=1, commands=build_generator(project, environ)
        )
        self.turns: list[AssistantTurn] = []

    async def start(self) -> list[str]:
        """The call connects; what the bot says."""
        return await self._send(SessionStart({}))

    async def say(self, text: str, source: str = "speech") -> list[str]:
        """The caller says ``text``; what the bot says."""
        return await self._send(UserText(text, source=source))  # type: ignore[arg-type]

    async def _send(self, event: SessionStart | UserText) -> list[str]:
        turn = await self.assistant.handle("call-1", event)
        self.turns.append(turn)
        return [m.text for m in turn.messages]

    @property
    def last(self) -> AssistantTurn:
        """The latest turn."""
        return self.turns[-1]


@pytest.fixture
async def call(
    project: Callable[[str], Project], llm: FakeLLM
) -> AsyncIterator[Callable[[str], Call]]:
    """``call("parcel_line")``: a conversation with that project (closed afterwards)."""
    calls: list[Call] = []

    def make(name: str) -> Call:
        calls.append(Call(project(name), environ_for(llm)))
        return calls[-1]

    yield make
    for each in calls:
        await each.assistant.close()
