"""Cartesia over REST ``/tts/bytes``: ``tts: {name: cartesia, transport: bytes}``.

One streamed HTTP response per message: no shared socket to keep alive, at the cost of a
request per message. Useful where websockets are blocked, or as a second entry in a ``tts:``
list behind the websocket engine. Same keys and request fields as `CartesiaTTS`, minus
``context_id``/``continue``; cancellation closes the response.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

import httpx

from telephonist.speech.tts.base import VoiceSpec
from telephonist.speech.tts.cartesia_settings import CartesiaSettings
from telephonist.speech.tts.http_stream import stream_post

__all__ = ["CartesiaBytesTTS"]


class CartesiaBytesTTS:
    """`TTSEngine` over ``POST /tts/bytes``; one pooled HTTP client shared by every call."""

    provider = "cartesia"

    def __init__(self, settings: CartesiaSettings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(settings.timeout))

    def __repr__(self) -> str:
        return f"CartesiaBytesTTS(url={self.settings.url!r}, model_id={self.settings.model_id!r})"

    async def synthesize(self, text: str, voice: VoiceSpec) -> AsyncGenerator[bytes, None]:
        """Mu-law 8 kHz chunks as Cartesia streams them."""
        body = self.settings.request(text, voice, "")
        del body["context_id"], body["continue"]
        headers = {**self.settings.headers(), "Content-Type": "application/json"}
        chunks = stream_post(
            self._client, self.settings.url, provider="cartesia", headers=headers, json=body
        )
        async with aclosing(chunks):
            async for chunk in chunks:
                yield chunk

    async def warm_up(self) -> None:
        """Nothing to load: the pooled client connects on the first message."""

    async def aclose(self) -> None:
        """Close the pooled connections (at shutdown)."""
        await self._client.aclose()
