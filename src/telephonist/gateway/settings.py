"""The ``assistant:`` block of endpoints.yml: how to reach a running Rasa server.

```yaml
assistant:
  type: rasa
  url: "http://localhost:5006"   # Rasa's own port; its credentials.yml enables `rest:`
  start_message: /session_start  # sent when a call connects (null: nothing)
  end_message: /session_end      # sent when it ends (null: nothing)
  silence_message: null          # e.g. /silence_timeout; null: the gateway handles silence
  resume_message: null           # e.g. /session_resumed after a lost stream; null: the
                                 # gateway apologises and repeats the last question
  timeout: 5                     # seconds to wait for Rasa's answer
  language: en                   # picks the ASR/TTS language_map entry
  token: ${RASA_TOKEN}           # for a Rasa started with --auth-token (sent as ?token=)
```

The token is a secret: it never appears in a repr, an error or a log line, and URLs are
only ever shown without it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from telephonist.config.yamlfile import describe_yaml_error, interpolate, parse_yaml
from telephonist.errors import ConfigError

log = logging.getLogger(__name__)

__all__ = [
    "BLOCK",
    "GatewaySettings",
    "Phrases",
    "parse_gateway",
    "read_gateway",
    "settings_for_url",
]

BLOCK = "assistant"
_REST_PATH = "/webhooks/rest/webhook"


@dataclass(frozen=True)
class Phrases:
    """What the gateway itself says, when Rasa cannot answer or the caller stays silent."""

    apology: str = "Sorry, I'm having trouble answering right now. Please try again in a moment."
    still_there: str = "Are you still there?"
    goodbye: str = "I haven't heard from you, so I'll end the call now. Goodbye."
    no_transfer: str = "Sorry, I can't transfer your call right now."
    resumed: str = "Sorry, the line dropped for a moment."
    """Said before the last question again, when a call comes back after a lost stream."""
    press: str = "For {title}, press {key}."
    """One menu entry per button; ``{title}`` and ``{key}`` are filled in."""


@dataclass(frozen=True)
class GatewaySettings:
    """A validated ``assistant:`` block of type ``rasa``."""

    url: str
    """Base URL of the Rasa server, without a trailing slash or a token."""
    start_message: str | None = "/session_start"
    end_message: str | None = "/session_end"
    silence_message: str | None = None
    resume_message: str | None = None
    """Sent to Rasa when a call comes back after a lost stream (None: the gateway says
    ``phrases.resumed`` and the last question again)."""
    timeout: float = 5.0
    language: str = "en"
    token: str | None = field(default=None, repr=False)
    max_connections: int | None = None
    """The shared connection pool's size; None: one per call the process may hold
    (``limits.max_calls``), so no call's request queues behind the pool."""
    phrases: Phrases = field(default_factory=Phrases)

    @property
    def webhook_url(self) -> str:
        """Where messages go (shown without the token)."""
        return self.url + _REST_PATH


def _url(value: Any, file: str, key: str = f"{BLOCK}.url") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            "is required: the Rasa server's URL, e.g. http://localhost:5006", file=file, key=key
        )
    parts = urlsplit(value.strip())
    # The value is never echoed: a pasted URL may carry a token.
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("must be an http:// or https:// URL with a host", file=file, key=key)
    if parts.query or parts.username or parts.password:
        raise ConfigError(
            "must not carry a query or credentials; put Rasa's auth token in assistant.token",
            file=file,
            key=key,
        )
    path = parts.path.rstrip("/").removesuffix(_REST_PATH)
    return f"{parts.scheme}://{parts.netloc}{path}"


def _message(block: Mapping[str, Any], key: str, default: str | None, file: str) -> str | None:
    if key not in block:
        return default
    value = block[key]
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            "must be a message text (e.g. /greet) or null", file=file, key=f"{BLOCK}.{key}"
        )
    return value.strip()


def _number(block: Mapping[str, Any], key: str, default: float, file: str) -> float:
    value = block.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError("must be a positive number", file=file, key=f"{BLOCK}.{key}")
    return float(value)


def _phrases(value: Any, file: str) -> Phrases:
    prefix = f"{BLOCK}.phrases"
    if value is None:
        return Phrases()
    if not isinstance(value, Mapping):
        raise ConfigError("must be a mapping", file=file, key=prefix)
    allowed = set(Phrases.__dataclass_fields__)
    for key, text in value.items():
        if key not in allowed:
            raise ConfigError(
                f"unknown key (allowed: {', '.join(sorted(allowed))})",
                file=file,
                key=f"{prefix}.{key}",
            )
        if not isinstance(text, str) or not text.strip():
            raise ConfigError("must be a text", file=file, key=f"{prefix}.{key}")
    phrases = Phrases(**{str(k): str(v).strip() for k, v in value.items()})
    if "{key}" not in phrases.press or "{title}" not in phrases.press:
        raise ConfigError("must contain {title} and {key}", file=file, key=f"{prefix}.press")
    return phrases


_KEYS = {
    "type",
    "url",
    "start_message",
    "end_message",
    "silence_message",
    "resume_message",
    "timeout",
    "language",
    "token",
    "max_connections",
    "phrases",
}


def parse_gateway(block: Any, *, file: str) -> GatewaySettings:
    """Validate an ``assistant:`` block; `ConfigError` names the file and key at fault
    (never a value that could be the token)."""
    if not isinstance(block, Mapping):
        raise ConfigError("must be a mapping with type: rasa and a url", file=file, key=BLOCK)
    for key in block:
        if key not in _KEYS:
            raise ConfigError(
                f"unknown key (allowed: {', '.join(sorted(_KEYS))})",
                file=file,
                key=f"{BLOCK}.{key}",
            )
    if block.get("type") != "rasa":
        raise ConfigError(
            "must be 'rasa' (a Rasa server reached over its REST channel)",
            file=file,
            key=f"{BLOCK}.type",
        )
    token = block.get("token")
    if token is not None and (not isinstance(token, str) or not token):
        raise ConfigError(
            "must be a text (Rasa's --auth-token) or null", file=file, key=f"{BLOCK}.token"
        )
    language = block.get("language", "en")
    if not isinstance(language, str) or not language.strip():
        raise ConfigError("must be a language code such as en", file=file, key=f"{BLOCK}.language")
    connections = block.get("max_connections")
    if connections is not None and (
        isinstance(connections, bool) or not isinstance(connections, int) or connections < 1
    ):
        raise ConfigError("must be a whole number >= 1", file=file, key=f"{BLOCK}.max_connections")
    return GatewaySettings(
        url=_url(block.get("url"), file),
        start_message=_message(block, "start_message", "/session_start", file),
        end_message=_message(block, "end_message", "/session_end", file),
        silence_message=_message(block, "silence_message", None, file),
        resume_message=_message(block, "resume_message", None, file),
        timeout=_number(block, "timeout", 5.0, file),
        language=language.strip(),
        token=token or None,
        max_connections=connections,
        phrases=_phrases(block.get("phrases"), file),
    )


def settings_for_url(url: str, block: GatewaySettings | None, *, option: str) -> GatewaySettings:
    """``--rasa-url URL``: the endpoints file's block with its URL replaced, or defaults."""
    parsed = _url(url, "", key=option)
    return replace(block, url=parsed) if block is not None else GatewaySettings(url=parsed)


def read_gateway(file: Path, environ: Mapping[str, str]) -> GatewaySettings | None:
    """The ``assistant:`` block of an endpoints file, or None (no file, or no block: the
    project's own assistant answers). Only this block's ``${VAR}``s are expanded here."""
    if not file.is_file():
        return None
    try:
        data = parse_yaml(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(file)) from None
    except yaml.YAMLError as exc:
        line, message = describe_yaml_error(exc)
        where = f"line {line}: " if line else ""
        raise ConfigError(f"{where}{message}", file=str(file)) from None
    if not isinstance(data, Mapping) or data.get(BLOCK) is None:
        return None
    block = interpolate(data[BLOCK], environ, file=str(file), key=BLOCK)
    settings = parse_gateway(block, file=str(file))
    if data.get("action_endpoint") is not None:
        log.warning(
            "%s: action_endpoint not used with assistant type rasa (Rasa calls its own "
            "action server; tracker_store keeps only each call's own state, for a resume)",
            file,
        )
    return settings
