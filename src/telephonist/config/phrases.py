"""The ``phrases:`` block of the ``twilio_media_streams`` channel: what the call itself says
when the assistant cannot, so an assistant in another language is not interrupted by English.

```yaml
phrases:
  asr_failure: "Sorry, I'm having trouble hearing you right now. Please call again later. Goodbye."
  transfer_failed: "Sorry, I couldn't transfer your call. How else can I help?"
```

``asr_failure`` is said before hanging up when speech recognition is lost for good;
``transfer_failed`` when Twilio refuses a transfer (the call stays with the bot).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telephonist.errors import ConfigError

__all__ = ["CallPhrases", "parse_phrases"]

MAX_PHRASE_CHARS = 500


@dataclass(frozen=True)
class CallPhrases:
    """What the call says on its own."""

    asr_failure: str = (
        "Sorry, I'm having trouble hearing you right now. Please call again later. Goodbye."
    )
    transfer_failed: str = "Sorry, I couldn't transfer your call. How else can I help?"


_KEYS = ("asr_failure", "transfer_failed")


def parse_phrases(value: Any, *, file: str, key: str) -> CallPhrases:
    """Validate the block: known keys only, each a non-empty string."""
    if value is None:
        return CallPhrases()
    if not isinstance(value, Mapping):
        raise ConfigError("must be a mapping of phrases", file=file, key=key)
    for name, phrase in value.items():
        if name not in _KEYS:
            raise ConfigError(
                f"unknown key (allowed: {', '.join(_KEYS)})", file=file, key=f"{key}.{name}"
            )
        if not isinstance(phrase, str) or not phrase.strip() or len(phrase) > MAX_PHRASE_CHARS:
            raise ConfigError(
                f"must be a non-empty string of at most {MAX_PHRASE_CHARS} characters",
                file=file,
                key=f"{key}.{name}",
            )
    return CallPhrases(**{name: value[name].strip() for name in value})
