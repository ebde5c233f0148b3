"""``--log-level`` takes a level in either case, as uvicorn and most tools do."""

from __future__ import annotations

import logging

import pytest

from telephonist.cli import build_parser
from telephonist.cli.logs import configure_logging


@pytest.mark.parametrize("given", ["warning", "WARNING", "Warning"])
def test_run_accepts_the_level_in_either_case(given: str) -> None:
    """``run --log-level warning`` parses to WARNING (it used to be refused)."""
    args = build_parser().parse_args(["run", "--log-level", given])
    assert args.log_level == "WARNING"


def test_an_unknown_level_is_still_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """A level that does not exist exits 2 and lists the valid ones."""
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["run", "--log-level", "loud"])
    assert stop.value.code == 2
    assert "'DEBUG', 'INFO', 'WARNING', 'ERROR'" in capsys.readouterr().err


def test_the_parsed_level_configures_the_root_logger() -> None:
    """The level reaches the root logger."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        configure_logging(build_parser().parse_args(["run", "--log-level", "error"]).log_level)
        assert root.level == logging.ERROR
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
