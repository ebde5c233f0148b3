"""Opening a provider websocket, with handshake failures mapped to `ProviderError`.

A refused handshake with 400/401/403/404 cannot be cured by retrying (bad key, bad
parameters, wrong path); anything else (5xx, 429, refused TCP, timeouts) may be.

websockets logs every handshake header at DEBUG; provider connections log through
``telephonist.speech.wire`` instead, whose filter redacts the headers that carry API keys.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

from telephonist.errors import ProviderError

__all__ = ["FATAL_HANDSHAKE_STATUSES", "SECRET_HEADERS", "WIRE_LOGGER", "open_websocket"]

FATAL_HANDSHAKE_STATUSES = frozenset({400, 401, 402, 403, 404})
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "ocp-apim-subscription-key"})


class _RedactSecretHeaders(logging.Filter):
    """Replaces the value in websockets' ``"> %s: %s"`` header lines for secret headers."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            isinstance(args, tuple)
            and len(args) == 2
            and isinstance(args[0], str)
            and args[0].lower() in SECRET_HEADERS
        ):
            record.args = (args[0], "<redacted>")
        return True


WIRE_LOGGER = logging.getLogger("telephonist.speech.wire")
WIRE_LOGGER.addFilter(_RedactSecretHeaders())


async def open_websocket(
    url: str, headers: Mapping[str, str], *, provider: str, open_timeout: float
) -> ClientConnection:
    """Connect to ``url``; raises ProviderError (never echoing ``headers``, which hold keys)."""
    try:
        return await connect(
            url,
            additional_headers=dict(headers),
            open_timeout=open_timeout,
            max_size=None,
            compression=None,
            logger=WIRE_LOGGER,
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        hint = " (check the API key)" if status in (401, 403) else ""
        raise ProviderError(
            provider,
            f"websocket handshake refused with HTTP {status}{hint}",
            retryable=status not in FATAL_HANDSHAKE_STATUSES,
        ) from None
    except InvalidURI as exc:
        raise ProviderError(provider, f"invalid websocket URL: {exc}", retryable=False) from None
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        raise ProviderError(
            provider, f"cannot connect: {type(exc).__name__}: {exc}", retryable=True
        ) from None
