"""One root exception type for everything Telephonist raises on purpose.

    TelephonistError
    ├── ConfigError            a bad config or project file (names the file and the key)
    ├── ProtocolError          a peer broke a wire protocol (Twilio frame, provider message)
    ├── AuthError              a request failed Basic auth, signature or stream-token checks
    └── ProviderError          an ASR/TTS/action-server call failed; ``retryable`` says
                               whether a retry may help

Secrets never go into messages: callers pass key *names*, never values.
"""

from __future__ import annotations

__all__ = ["AuthError", "ConfigError", "ProtocolError", "ProviderError", "TelephonistError"]


class TelephonistError(Exception):
    """Root of every error Telephonist raises deliberately."""


class ConfigError(TelephonistError):
    """A configuration or project file is invalid; the message names the file and the key."""

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        self.file = file
        self.key = key
        where = ": ".join(part for part in (file, key) if part)
        super().__init__(f"{where}: {message}" if where else message)


class ProtocolError(TelephonistError):
    """A peer sent something the protocol does not allow."""


class AuthError(TelephonistError):
    """A request was refused by Basic auth, signature validation or the stream token."""


class ProviderError(TelephonistError):
    """A speech or action provider failed.

    ``retryable`` is True for failures a retry or reconnect may cure (timeouts, 429, 5xx,
    dropped sockets) and False for ones it cannot (bad key, bad request, unknown voice).
    """

    def __init__(self, provider: str, message: str, *, retryable: bool) -> None:
        self.provider = provider
        self.retryable = retryable
        super().__init__(f"{provider}: {message}")
