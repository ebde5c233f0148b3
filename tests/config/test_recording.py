"""The channel's ``recording:`` block: off unless given, defaults, and located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephonist.config.channel import parse_channel
from telephonist.errors import ConfigError

BASE = {"server_url": "example.org", "asr": {"name": "local"}, "tts": {"name": "local"}}


def recording(value: object, file: str = "/srv/line/credentials.yml"):
    """The parsed recording settings of a block with ``recording: value``."""
    return parse_channel({**BASE, "recording": value}, file=file, environ={}).recording


def test_recording_is_off_unless_configured():
    """No block, ``false`` or ``enabled: false``: nothing is recorded."""
    assert not parse_channel(BASE, file="credentials.yml", environ={}).recording.enabled
    assert not recording(False).enabled
    assert not recording({"enabled": False}).enabled


def test_a_block_turns_it_on_with_documented_defaults():
    """``true`` (or any mapping) records WAV and transcript, masks keys, keeps 30 days, caps
    the folder at 10,000 MB; a relative folder sits beside credentials.yml."""
    settings = recording(True)
    assert settings.enabled and settings.wav and settings.transcript and settings.mask_dtmf
    assert settings.folder == Path("/srv/line/recordings")
    assert (settings.retention_days, settings.max_size_mb) == (30.0, 10_000.0)
    assert settings.instance
    custom = recording(
        {
            "folder": "/data/calls",
            "wav": False,
            "mask_dtmf": False,
            "retention_days": 0,
            "max_size_mb": None,
            "instance": "web-2",
        }
    )
    assert custom.folder == Path("/data/calls") and not custom.wav and not custom.mask_dtmf
    assert custom.retention_days is None and custom.max_size_mb is None
    assert custom.instance == "web-2"


@pytest.mark.parametrize(
    ("value", "key", "message"),
    [
        ({"folders": "x"}, "recording.folders", "unknown key"),
        ({"wav": "yes"}, "recording.wav", "must be true or false"),
        ({"retention_days": -1}, "recording.retention_days", "must be a number >= 0"),
        ({"max_size_mb": "lots"}, "recording.max_size_mb", "must be a number >= 0"),
        ({"instance": "../etc"}, "recording.instance", "it names files"),
        ({"folder": ""}, "recording.folder", "must be a folder path"),
        ("yes", "recording", "must be a mapping or true/false"),
    ],
)
def test_bad_values_name_the_file_and_key(value: object, key: str, message: str):
    """Each mistake stops start-up with the file and the key."""
    with pytest.raises(ConfigError) as error:
        recording(value)
    assert f"/srv/line/credentials.yml: twilio_media_streams.{key}" in str(error.value)
    assert message in str(error.value)
