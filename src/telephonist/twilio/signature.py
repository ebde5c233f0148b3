"""``X-Twilio-Signature`` checks, delegated to the `twilio` library's `RequestValidator`.

Twilio signs the URL it called (plus sorted form parameters for a POST). Behind a
TLS-terminating proxy we rebuild that URL from ``X-Forwarded-Proto``/``X-Forwarded-Host``;
for the websocket upgrade Twilio signs the ``wss://`` URL from our TwiML, sometimes with a
trailing slash, so both are tried.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from twilio.request_validator import RequestValidator

__all__ = ["SignatureChecker", "public_url"]


def public_url(scheme: str, host: str, path: str, query: str, headers: Mapping[str, str]) -> str:
    """The URL the caller used, honouring ``X-Forwarded-Proto`` and ``X-Forwarded-Host``."""
    forwarded_proto = headers.get("x-forwarded-proto", "").split(",")[0].strip()
    forwarded_host = headers.get("x-forwarded-host", "").split(",")[0].strip()
    url = f"{forwarded_proto or scheme}://{forwarded_host or host}{path}"
    return f"{url}?{query}" if query else url


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
