"""``X-Twilio-Signature`` checks, delegated to the `twilio` library's `RequestValidator`.

Twilio signs the URL it called (plus sorted form parameters for a POST): the URL its user
gave it, on the host configured as ``server_url``. So that is the URL we check, whatever
``Host`` or ``X-Forwarded-Host`` a request carries: otherwise a signature Twilio made for
another URL (another app on the same account) would pass here when sent with that URL's host
in a header. Only the scheme is left open (``https://``, or ``http://`` for a development
tunnel), which names no other site. For the websocket upgrade Twilio signs the ``wss://`` URL
from our TwiML, sometimes with a trailing slash, so both are tried.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from twilio.request_validator import RequestValidator

__all__ = ["SignatureChecker", "webhook_urls"]


def webhook_urls(server_url: str, path: str, query: str) -> list[str]:
    """The URLs Twilio may have signed for a request to ``path?query`` on ``server_url``
    (a normalised ``host[:port][/prefix]``): over https, or http."""
    tail = f"{path}?{query}" if query else path
    return [f"https://{server_url}{tail}", f"http://{server_url}{tail}"]


class SignatureChecker:
    """Validates Twilio signatures with one auth token."""

    def __init__(self, auth_token: str) -> None:
        self._validator = RequestValidator(auth_token)

    def valid(
        self, urls: Iterable[str], params: Mapping[str, str] | object, signature: str | None
    ) -> bool:
        """True if ``signature`` matches any of ``urls`` with ``params``."""
        if not signature:
            return False
        return any(self._validator.validate(url, params, signature) for url in urls)

    def valid_websocket(self, url: str, signature: str | None) -> bool:
        """Check an upgrade request's signature over the ``wss://`` stream URL."""
        variants = [url, url.rstrip("/") + "/"] if not url.endswith("/") else [url, url.rstrip("/")]
        return self.valid(variants, {}, signature)

    def __repr__(self) -> str:
        return "SignatureChecker(auth_token=<redacted>)"
