"""`telephonist run --inspect` refuses a public interface without credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephonist.cli import main


def test_inspect_on_public_interface_needs_credentials(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """On 0.0.0.0 without username/password, --inspect exits 2 before opening the port."""
    project = tmp_path / "bot"
    assert main(["init", str(project)]) == 0
    capsys.readouterr()
    assert main(["run", str(project), "--inspect", "--interface", "0.0.0.0"]) == 2
    error = capsys.readouterr().err
    assert "--inspect on 0.0.0.0" in error
    assert "username and password" in error and "--interface 127.0.0.1" in error
