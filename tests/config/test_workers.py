"""The workers key: a whole number or auto; errors name the key."""

from __future__ import annotations

import os

import pytest
from tests.config.channels import channel_with

from telephonist.config.workers import available_cores, parse_workers
from telephonist.errors import ConfigError


def workers(value: object) -> int | None:
    """Parse a minimal block with ``workers`` (... for none)."""
    return channel_with("workers", value).workers


def test_absent_number_and_auto() -> None:
    """No key leaves the choice to the flag (one worker); auto is the cores this process
    may run on."""
    assert workers(...) is None
    assert workers(3) == 3
    assert workers("2") == 2
    assert workers("auto") == workers("AUTO") == available_cores()
    assert available_cores() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("value", [0, -1, 2.5, True, "two", "", 257])
def test_bad_values_name_the_key(value: object) -> None:
    """Anything but auto or 1 to 256 is refused, naming the key."""
    with pytest.raises(ConfigError, match=r"credentials.yml: twilio_media_streams.workers: "):
        workers(value)


def test_the_flag_is_named_in_its_own_errors() -> None:
    """``--workers`` values are checked the same way, naming the flag."""
    assert parse_workers("4", file="--workers", key="") == 4
    with pytest.raises(ConfigError, match=r"^--workers: must be auto or a whole number"):
        parse_workers("many", file="--workers", key="")
