"""Opening the caller's speech-recognition stream when the webhook is answered, so it is
ready by the time Twilio connects the media stream (a cloud ASR's TLS + websocket handshake
then costs the caller nothing).

Only authenticated webhooks pre-warm (Basic auth or signatures configured): otherwise anyone
could POST the webhook and open paid provider connections. A stream not claimed by its call
within the stream-token lifetime is closed.
"""

from __future__ import annotations

import asyncio
import contextlib

from telephonist.call.clock import Clock
from telephonist.speech.asr.base import ASRCapabilities, ASRProvider, ASRStream

__all__ = ["Prewarmer"]


class _Opened:
    """A one-shot provider handing out the stream opened in advance by ``provider``, whose
    capabilities it declares. Warming and closing belong to the shared provider."""

    def __init__(self, provider: ASRProvider, task: asyncio.Task[ASRStream]) -> None:
        self.capabilities: ASRCapabilities = provider.capabilities
        self._task = task

    async def warm_up(self) -> None:
        """The shared provider was warmed at start-up."""

    async def open_stream(self, language: str) -> ASRStream:
        return await self._task

    async def aclose(self) -> None:
        """The shared provider is closed at shutdown."""


class Prewarmer:
    """Pre-opened ASR streams, by CallSid."""

    def __init__(self, provider: ASRProvider, language: str, ttl: float, clock: Clock) -> None:
        self._provider = provider
        self._language = language
        self._ttl = ttl
        self._clock = clock
        self._pending: dict[str, asyncio.Task[ASRStream]] = {}
        self._expiries: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        """Streams opened and not yet claimed."""
        return len(self._pending)

    def start(self, call_sid: str) -> None:
        """Begin opening a stream for ``call_sid`` (once)."""
        if call_sid in self._pending:
            return
        self._pending[call_sid] = asyncio.create_task(self._provider.open_stream(self._language))
        expiry = asyncio.create_task(self._expire(call_sid))
        self._expiries.add(expiry)
        expiry.add_done_callback(self._expiries.discard)

    def provider_for(self, call_sid: str) -> ASRProvider:
        """The provider a starting call should use: its pre-opened stream, if any."""
        task = self._pending.pop(call_sid, None)
        return _Opened(self._provider, task) if task is not None else self._provider

    async def _expire(self, call_sid: str) -> None:
        await self._clock.sleep(self._ttl)
        task = self._pending.pop(call_sid, None)
        if task is not None:
            await _discard(task)

    async def close(self) -> None:
        """Close every unclaimed stream."""
        for expiry in list(self._expiries):
            expiry.cancel()
        pending, self._pending = list(self._pending.values()), {}
        for task in pending:
            await _discard(task)


async def _discard(task: asyncio.Task[ASRStream]) -> None:
    with contextlib.suppress(Exception):
        stream = await task
        await stream.close()
