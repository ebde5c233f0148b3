"""The limits block: defaults, overrides, and errors that name the key without the value."""

from __future__ import annotations

import math

import pytest
from tests.config.channels import channel_with

from telephonist.config.limits import Limits
from telephonist.errors import ConfigError


def channel(limits: object) -> Limits:
    """Parse a minimal block with ``limits``."""
    return channel_with("limits", limits).limits


def test_defaults_and_overrides():
    """No block gives the documented defaults; given keys replace them."""
    assert channel(...) == channel(None) == Limits()
    limits = channel({"max_calls": 50, "start_timeout": 2, "media_rate": 3.5})
    assert (limits.max_calls, limits.start_timeout, limits.media_rate) == (50, 2.0, 3.5)
    assert limits.max_connections == Limits().max_connections


@pytest.mark.parametrize(
    "block, key",
    [
        ({"max_calls": 0}, "max_calls"),
        ({"max_calls": 2.5}, "max_calls"),
        ({"max_connections": True}, "max_connections"),
        ({"start_timeout": -1}, "start_timeout"),
        ({"request_timeout": math.nan}, "request_timeout"),
        ({"media_burst": "31415926535"}, "media_burst"),
        ({"max_call": 5}, "max_call"),
    ],
)
def test_bad_values_name_the_key_and_never_echo_the_value(block, key):
    """Each error names file and key; the offending value is not repeated."""
    with pytest.raises(ConfigError) as caught:
        channel(block)
    assert caught.value.key == f"twilio_media_streams.limits.{key}"
    assert "31415926535" not in str(caught.value) and "2.5" not in str(caught.value)


def test_limits_must_be_a_mapping():
    """A scalar where the block belongs is refused."""
    with pytest.raises(ConfigError, match="limits: must be a mapping"):
        channel(100)
