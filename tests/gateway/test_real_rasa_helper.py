"""The real-Rasa helper says why it cannot run instead of failing the suite."""

from __future__ import annotations

import sys

import pytest
from tests.gateway.real_rasa import RasaUnavailable, rasa_venv


def test_a_python_that_is_not_3_10_is_refused_with_the_reason(monkeypatch, tmp_path):
    """TELEPHONIST_RASA_PYTHON pointing at another version: RasaUnavailable, nothing built."""
    monkeypatch.setenv("TELEPHONIST_RASA_PYTHON", sys.executable)
    monkeypatch.setenv("TELEPHONIST_TEST_CACHE", str(tmp_path))
    with pytest.raises(RasaUnavailable, match=r"is not a working Python 3\.10"):
        rasa_venv()
    assert not list(tmp_path.glob("rasa-venv-*"))


def test_a_missing_python_is_refused_with_the_reason(monkeypatch, tmp_path):
    """A path that does not exist: RasaUnavailable naming it."""
    missing = tmp_path / "no-python3.10"
    monkeypatch.setenv("TELEPHONIST_RASA_PYTHON", str(missing))
    monkeypatch.setenv("TELEPHONIST_TEST_CACHE", str(tmp_path))
    with pytest.raises(RasaUnavailable, match=r"no-python3\.10"):
        rasa_venv()
