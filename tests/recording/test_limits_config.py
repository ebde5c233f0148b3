"""The folder's limits are numbers YAML may spell ``.inf`` or ``.nan``: refused at start-up
with the key named, as any other wrong value (not a crash later, nor retention silently
off)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from telephonist.config.recording import parse_recording
from telephonist.errors import ConfigError


@pytest.mark.parametrize("key", ["max_size_mb", "retention_days"])
@pytest.mark.parametrize("spelled", [".inf", ".nan", "-.inf"])
def test_non_finite_limits_are_refused_naming_the_key(tmp_path: Path, key: str, spelled: str):
    """Each is refused in the words of the other number errors."""
    block = yaml.safe_load(f"{key}: {spelled}")
    with pytest.raises(ConfigError) as raised:
        parse_recording({"folder": "rec", **block}, file=str(tmp_path / "credentials.yml"))
    assert f"twilio_media_streams.recording.{key}" in str(raised.value)
    assert "must be a number >= 0" in str(raised.value)
