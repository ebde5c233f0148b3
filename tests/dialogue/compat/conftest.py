"""The compatibility suite: small projects of our own, each written the way Rasa writes the
construct it covers, loaded and talked to through the real engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.compat_support import copy_project, loaded

from telephonist.dialogue.project import Project


@pytest.fixture
def compat_project(tmp_path: Path) -> Callable[[str], Path]:
    """Copies a fixture project into the test's temporary directory."""
    return lambda name: copy_project(name, tmp_path)


@pytest.fixture(scope="module")
def voice_bank(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The voice-bank project, loaded once per module."""
    return loaded("voice_bank", tmp_path_factory)
