"""Fixtures shared by several test folders."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from telephonist.cli import main


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A fresh starter project made by `telephonist init`."""
    path = tmp_path / "line"
    assert main(["init", str(path)]) == 0
    capsys.readouterr()
    return path


@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    """A command run in-process (``main(["run", ...])``) installs its stderr handler on the
    root logger; the stream is the test's captured one, closed after it, and later tests'
    logs would fail to write there."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
