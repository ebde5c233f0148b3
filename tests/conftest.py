"""Fixtures shared by several test folders."""

from __future__ import annotations

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
