"""Endpoint normalisation shared by the cloud providers.

Users write ``endpoint`` in one of two ways, and both must work:

- a bare host (``api.deepgram.com``, ``proxy.internal:8443``): the secure scheme (``wss`` for
  websocket providers, ``https`` for REST ones) and the provider's default path are added;
- a full URL (``wss://…``, ``ws://127.0.0.1:5000``, ``http://onprem:8080/v1/speak``): the scheme
  is kept, so plain ``ws://`` / ``http://`` reach on-prem containers, proxies and local fakes.
  When the URL has no path, the default path is added; a path that is given is kept as is.

A websocket provider also accepts ``http(s)://`` (mapped to ``ws(s)://``) and a REST provider
accepts ``ws(s)://`` (mapped to ``http(s)://``): a base URL copied from the other kind of
endpoint of the same service then still works.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from telephonist.config.redaction import shown

__all__ = ["EndpointError", "normalize_endpoint"]

Kind = Literal["websocket", "http"]

_SCHEMES: dict[Kind, dict[str, str]] = {
    "websocket": {"wss": "wss", "ws": "ws", "https": "wss", "http": "ws"},
    "http": {"https": "https", "http": "http", "wss": "https", "ws": "http"},
}
_SECURE: dict[Kind, str] = {"websocket": "wss", "http": "https"}


class EndpointError(ValueError):
    """The endpoint cannot be turned into a URL; the message says why."""


def normalize_endpoint(
    endpoint: str | None, *, kind: Kind, default_host: str, default_path: str
) -> str:
    """The full URL for ``endpoint`` (or for ``default_host`` when it is empty), no trailing /.

    >>> normalize_endpoint("api.deepgram.com", kind="websocket", default_host="x",
    ...                    default_path="/v1/listen")
    'wss://api.deepgram.com/v1/listen'
    """
    raw = (endpoint or "").strip() or default_host
    if "://" not in raw:
        raw = f"{_SECURE[kind]}://{raw}"
    parts = urlsplit(raw)
    scheme = _SCHEMES[kind].get(parts.scheme.lower())
    if scheme is None:
        allowed = ", ".join(f"{s}://" for s in _SCHEMES[kind])
        raise EndpointError(f"unsupported scheme {parts.scheme!r}; use a bare host or {allowed}")
    if "@" in parts.netloc:  # checked first: the messages below quote the URL
        raise EndpointError(
            "credentials in the URL are not allowed; API keys come from the environment"
        )
    if not parts.hostname:
        raise EndpointError(f"no host in {shown(endpoint)}")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise EndpointError(f"bad port in {shown(endpoint)}") from exc
    if parts.query or parts.fragment:
        raise EndpointError(
            "query strings and fragments are not allowed; options have their own keys"
        )
    path = parts.path.rstrip("/") or default_path.rstrip("/")
    return urlunsplit((scheme, parts.netloc, path, "", ""))
