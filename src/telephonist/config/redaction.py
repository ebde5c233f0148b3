"""Showing a configuration value in an error message without leaking a secret.

Two things make a value unshowable, and both are decided here, once:

* it sits under a *secret key* (``password``, ``token``, ``api_key``, ``*_token``, ...), in
  any file: credentials.yml, endpoints.yml (tracker stores, model groups, the gateway's
  ``assistant`` block), config.yml, the domain or the data;
* it came from the environment: ``${VAR}`` interpolation returns an `EnvText`, a ``str``
  that stays marked through the usual normalisations and whose ``repr`` hides it, so even a
  message written as ``f"got {value!r}"`` cannot print it.

Every message that quotes a value goes through `shown`. A new secret key is one entry in
`SECRET_KEYS` (or a name ending in one of `SECRET_SUFFIXES`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, SupportsIndex

__all__ = [
    "HIDDEN",
    "SECRET_KEYS",
    "SECRET_SUFFIXES",
    "EnvText",
    "from_environment",
    "is_secret_key",
    "scrub",
    "shown",
]

SECRET_KEYS = frozenset(
    {
        "password",
        "passwd",
        "token",
        "secret",
        "api_key",
        "apikey",
        "auth_token",
        "access_token",
        "client_secret",
        "private_key",
        "credentials",
    }
)
"""Key names whose values are secrets, wherever they appear (compared in lower case)."""

SECRET_SUFFIXES = ("_password", "_token", "_secret", "_api_key", "_apikey")
"""...and names ending like these (``twilio_auth_token``, ``stream_token_secret``)."""

HIDDEN = "<hidden>"
_MAX_SHOWN = 60
_URL_PASSWORD = re.compile(r"(://[^/@:\s]*:)[^/@\s]*@")
_KEY_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


class EnvText(str):
    """Text that took (part of) its value from an environment variable.

    It behaves as a ``str`` everywhere (comparisons, hashing, JSON, drivers), keeps its
    mark through ``strip``/``lower``-style normalisation, and its ``repr`` hides it.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "<hidden: from the environment>"

    def __str__(self) -> str:
        return self

    def strip(self, chars: str | None = None) -> EnvText:
        """Marked like the original."""
        return EnvText(str.strip(self, chars))

    def lstrip(self, chars: str | None = None) -> EnvText:
        """Marked like the original."""
        return EnvText(str.lstrip(self, chars))

    def rstrip(self, chars: str | None = None) -> EnvText:
        """Marked like the original."""
        return EnvText(str.rstrip(self, chars))

    def lower(self) -> EnvText:
        """Marked like the original."""
        return EnvText(str.lower(self))

    def upper(self) -> EnvText:
        """Marked like the original."""
        return EnvText(str.upper(self))

    def casefold(self) -> EnvText:
        """Marked like the original."""
        return EnvText(str.casefold(self))

    def __getitem__(self, index: SupportsIndex | slice) -> EnvText:
        return EnvText(str.__getitem__(self, index))


def is_secret_key(key: str | tuple[str | int, ...]) -> bool:
    """Whether a key, or any key on a dotted path (``tracker_store.password``,
    ``model_groups[0].models[0].api_key``), names a secret."""
    parts = (
        _KEY_PART.findall(key) if isinstance(key, str) else [p for p in key if isinstance(p, str)]
    )
    for part in parts:
        name = part.lower().replace("-", "_")
        if name in SECRET_KEYS or name.endswith(SECRET_SUFFIXES):
            return True
    return False


def from_environment(value: Any) -> bool:
    """Whether ``value`` holds text that came from an environment variable."""
    if isinstance(value, EnvText):
        return True
    if isinstance(value, Mapping):
        return any(from_environment(k) or from_environment(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(from_environment(item) for item in value)
    return False


def _kind(value: Any) -> str:
    return "str" if isinstance(value, str) else type(value).__name__


def shown(value: Any, key: str | tuple[str | int, ...] = "") -> str:
    """``value`` as an error message may quote it: its ``repr`` (shortened, with any URL
    password masked), or only its type when it is a secret or came from the environment.

    >>> shown(31415926535, "twilio_media_streams.password")
    'an int (hidden: secret key)'
    """
    if key and is_secret_key(key):
        return f"{_article(_kind(value))} (hidden: secret key)"
    if from_environment(value):
        return f"{_article(_kind(value))} (hidden: from the environment)"
    text = _URL_PASSWORD.sub(r"\1***@", repr(value))
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def scrub(message: str, value: Any, key: str | tuple[str | int, ...]) -> str:
    """``message`` without ``value`` in it when ``key`` is secret or ``value`` came from the
    environment: the safety net for messages written without `shown`."""
    if not (is_secret_key(key) or from_environment(value)):
        return message
    if isinstance(value, bool) or value is None or isinstance(value, Mapping | list):
        return message
    for text in (repr(str.__str__(value)) if isinstance(value, str) else repr(value), str(value)):
        if len(text) >= 4:
            message = message.replace(text, HIDDEN)
    return message


def _article(kind: str) -> str:
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"
