"""A local Azure Speech TTS REST endpoint (``POST /cognitiveservices/v1``).

It enforces what Azure enforces: ``Ocp-Apim-Subscription-Key`` (401), ``Content-Type:
application/ssml+xml`` (415), a known ``X-Microsoft-OutputFormat`` and a ``User-Agent``
(400), well-formed SSML (400). It answers 200 with `synthetic_audio` of the spoken text,
streamed in ``chunk_size`` pieces. Faults (`HttpFaults`): the next responses fail with given
statuses, a slow first byte, a pause after the first chunk until released, a body cut short.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from .http_app import ServedApp
from .synthetic import synthetic_audio

__all__ = ["AzureRequest", "FakeAzureTTS", "HttpFaults", "stream_body"]

SSML_NS = "{http://www.w3.org/2001/10/synthesis}"


@dataclass
class HttpFaults:
    """Failures to inject into the next responses."""

    statuses: list[int] = field(default_factory=list)  # one per request, then normal
    first_byte_delay: float = 0.0
    hold_after_first_chunk: asyncio.Event | None = None  # body pauses until this is set
    cut_after_first_chunk: bool = False  # the body ends early (connection dropped)


@dataclass
class AzureRequest:
    """What one synthesis request carried (the key is only checked, never stored)."""

    ssml: str
    voice: str | None
    text: str
    language: str | None
    output_format: str | None
    user_agent: str | None


async def stream_body(
    audio: bytes, faults: HttpFaults, chunk_size: int, sent: list[int]
) -> AsyncIterator[bytes]:
    """Yield ``audio`` in chunks, applying the timing faults; counts bytes sent in ``sent``."""
    if faults.first_byte_delay:
        await asyncio.sleep(faults.first_byte_delay)
    for index, offset in enumerate(range(0, len(audio), chunk_size)):
        chunk = audio[offset : offset + chunk_size]
        sent[0] += len(chunk)
        yield chunk
        if index == 0 and faults.cut_after_first_chunk:
            raise ConnectionResetError("fault injected: body cut short")
        if index == 0 and faults.hold_after_first_chunk is not None:
            await faults.hold_after_first_chunk.wait()


class FakeAzureTTS:
    """``async with FakeAzureTTS(key) as fake:``; point ``endpoint`` at ``fake.url``."""

    def __init__(self, api_key: str = "test-azure-key", *, chunk_size: int = 400) -> None:
        self.api_key = api_key
        self.chunk_size = chunk_size
        self.faults = HttpFaults()
        self.requests: list[AzureRequest] = []
        self.bytes_sent = [0]
        app = Starlette(routes=[Route("/cognitiveservices/v1", self._synthesize, methods=["POST"])])
        self._served = ServedApp(app)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self._served.url

    async def __aenter__(self) -> FakeAzureTTS:
        await self._served.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._served.__aexit__(exc_type, exc, tb)

    async def _synthesize(self, request: Request) -> Response:
        if self.faults.statuses:
            status = self.faults.statuses.pop(0)
            return PlainTextResponse(f"fault injected: {status}", status_code=status)
        headers = request.headers
        if headers.get("ocp-apim-subscription-key") != self.api_key:
            return PlainTextResponse("", status_code=401)
        if headers.get("content-type") != "application/ssml+xml":
            return PlainTextResponse("", status_code=415)
        if headers.get("x-microsoft-outputformat") != "raw-8khz-8bit-mono-mulaw" or not headers.get(
            "user-agent"
        ):
            return PlainTextResponse("bad headers", status_code=400)
        ssml = (await request.body()).decode("utf-8")
        try:
            root = ET.fromstring(ssml)
        except ET.ParseError:
            return PlainTextResponse("invalid SSML", status_code=400)
        voice = root.find(f"{SSML_NS}voice")
        if voice is None:
            voice = root.find("voice")
        text = "".join(voice.itertext()) if voice is not None else "".join(root.itertext())
        self.requests.append(
            AzureRequest(
                ssml,
                voice.get("name") if voice is not None else None,
                text,
                root.get("{http://www.w3.org/XML/1998/namespace}lang"),
                headers.get("x-microsoft-outputformat"),
                headers.get("user-agent"),
            )
        )
        body = stream_body(synthetic_audio(text), self.faults, self.chunk_size, self.bytes_sent)
        return StreamingResponse(body, media_type="audio/basic")
