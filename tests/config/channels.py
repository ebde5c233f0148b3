"""A minimal channel block with one key set, parsed: for tests of one block of it."""

from __future__ import annotations

from telephonist.config.channel import ChannelConfig, parse_channel


def channel_with(key: str, value: object) -> ChannelConfig:
    """Parse the smallest valid channel block plus ``key: value`` (``...``: key left out)."""
    block: dict[str, object] = {
        "server_url": "h.example",
        "asr": {"name": "local"},
        "tts": {"name": "local"},
    }
    if value is not ...:
        block[key] = value
    return parse_channel(block, file="credentials.yml", environ={})
