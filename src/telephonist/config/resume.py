"""The ``resume:`` block of the ``twilio_media_streams`` channel: a call whose media stream is
lost without the server deciding it (a crashed instance, a network drop) comes back on a new
stream, on whichever instance Twilio's redirect reaches, and goes on where it was.

```yaml
resume:
  enabled: true        # default: on when stream_token_secret is set (it signs the redirect)
  max_per_call: 3      # new streams one call may get
```

``resume: false`` turns it off; ``resume: true`` is ``enabled: true``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telephonist.errors import ConfigError

__all__ = ["DEFAULT_MAX_RESUMES", "ResumeSettings", "parse_resume"]

DEFAULT_MAX_RESUMES = 3
_KEYS = ("enabled", "max_per_call")


@dataclass(frozen=True)
class ResumeSettings:
    """Whether calls resume after a lost stream, and how often."""

    enabled: bool = False
    max_per_call: int = DEFAULT_MAX_RESUMES


def parse_resume(value: Any, *, has_secret: bool, file: str, key: str) -> ResumeSettings:
    """Validate the block; on by default when a stream-token secret is configured (every
    instance must share it, so any of them can check the redirect of another)."""
    block: Mapping[str, Any]
    if value is None:
        block = {}
    elif isinstance(value, bool):
        block = {"enabled": value}
    elif isinstance(value, Mapping):
        block = value
    else:
        raise ConfigError("must be a mapping or true/false", file=file, key=key)
    for name in block:
        if name not in _KEYS:
            raise ConfigError(
                f"unknown key (allowed: {', '.join(_KEYS)})", file=file, key=f"{key}.{name}"
            )
    enabled = block.get("enabled", has_secret)
    if not isinstance(enabled, bool):
        raise ConfigError("must be true or false", file=file, key=f"{key}.enabled")
    if enabled and not has_secret:
        raise ConfigError(
            "needs stream_token_secret (or TELEPHONIST_STREAM_TOKEN_SECRET), the same on "
            "every instance: it signs the redirect a resumed call comes back with",
            file=file,
            key=f"{key}.enabled",
        )
    most = block.get("max_per_call", DEFAULT_MAX_RESUMES)
    if isinstance(most, bool) or not isinstance(most, int) or not 0 <= most <= 100:
        raise ConfigError(
            "must be a whole number from 0 to 100", file=file, key=f"{key}.max_per_call"
        )
    return ResumeSettings(enabled=enabled and most > 0, max_per_call=most)
