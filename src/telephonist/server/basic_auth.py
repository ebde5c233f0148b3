"""HTTP Basic auth as Twilio expects it: 401 with a challenge first, then the credentials
from the ``https://user:pass@host/...`` webhook URL, compared in constant time."""

from __future__ import annotations

import base64
import hmac

from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse, Response

__all__ = ["BasicAuth"]

REALM = "twilio_media_streams"


class BasicAuth:
    """Checks one username/password pair."""

    def __init__(self, username: str, password: str) -> None:
        self._expected = base64.b64encode(f"{username}:{password}".encode())

    def refuse(self, request: HTTPConnection) -> Response | None:
        """None if the request may pass, else the 401 response to send."""
        header = request.headers.get("authorization")
        scheme, _, credentials = (header or "").strip().partition(" ")
        if scheme.lower() == "basic" and hmac.compare_digest(
            credentials.strip().encode(), self._expected
        ):
            return None
        message = "Authentication required." if not header else "Invalid credentials."
        return PlainTextResponse(
            message, status_code=401, headers={"WWW-Authenticate": f'Basic realm="{REALM}"'}
        )

    def __repr__(self) -> str:
        return "BasicAuth(<redacted>)"
