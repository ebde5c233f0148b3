"""Fixtures for dialogue tests: a private copy of the starter project."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from telephonist.dialogue.engine import Engine
from telephonist.dialogue.project import Project, load_project
from telephonist.starter import copy_starter


@pytest.fixture(scope="session")
def starter_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The starter project copied to a temporary directory (shared, read-only use)."""
    path = tmp_path_factory.mktemp("starter")
    copy_starter(path)
    return path


@pytest.fixture(scope="session")
def starter(starter_path: Path) -> Project:
    """The loaded starter project."""
    return load_project(starter_path)


@pytest.fixture(scope="session")
def engine(starter: Project) -> Iterator[Engine]:
    """An engine for the starter project with a fixed clock and seed."""
    yield Engine(starter, transfer_number="+15550001111", now=lambda: 1000.0, seed=7)
