"""Streaming a REST synthesis response, with HTTP failures mapped to `ProviderError`.

The body is yielded chunk by chunk as it arrives, so the first audio reaches the caller
before the provider has finished. Closing the iterator closes the response (and so stops the
download) at once. 408/429/5xx, timeouts and network errors are retryable; other statuses
(400 bad SSML, 401/403 bad key or region, 415 content type) are not.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any

import httpx

from telephonist.errors import ProviderError

__all__ = ["is_retryable_status", "stream_post"]


def is_retryable_status(status: int) -> bool:
    """Whether a retry (or another provider) may succeed after HTTP ``status``."""
    return status in (408, 429) or status >= 500


async def stream_post(
    client: httpx.AsyncClient,
    url: str,
    *,
    provider: str,
    headers: Mapping[str, str],
    content: bytes | None = None,
    json: Any = None,
    params: Mapping[str, str] | None = None,
) -> AsyncGenerator[bytes, None]:
    """POST and yield the response body as it streams in; raises ProviderError on failure."""
    try:
        async with client.stream(
            "POST", url, headers=dict(headers), content=content, json=json, params=params
        ) as response:
            if response.status_code != 200:
                detail = (await response.aread())[:200].decode("utf-8", "replace").strip()
                raise ProviderError(
                    provider,
                    f"HTTP {response.status_code}" + (f": {detail}" if detail else ""),
                    retryable=is_retryable_status(response.status_code),
                )
            async for chunk in response.aiter_bytes():
                if chunk:
                    yield chunk
    except httpx.TimeoutException as exc:
        raise ProviderError(provider, f"timed out ({type(exc).__name__})", retryable=True) from None
    except httpx.HTTPError as exc:
        raise ProviderError(
            provider, f"request failed: {type(exc).__name__}: {exc}", retryable=True
        ) from None
