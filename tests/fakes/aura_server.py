"""A local Deepgram Aura TTS REST endpoint (``POST /v1/speak``).

It checks ``Authorization: Token <key>`` (401), ``encoding=mulaw``, ``sample_rate=8000``,
``container=none`` and a ``model`` in the query, and a JSON body ``{"text": …}`` (400). It
answers 200 with `synthetic_audio` of the text, streamed; faults as in the Azure fake.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import TracebackType

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .azure_tts_server import HttpFaults, stream_body
from .http_app import ServedApp
from .synthetic import synthetic_audio

__all__ = ["AuraRequest", "FakeAura"]


@dataclass
class AuraRequest:
    """What one /v1/speak request carried."""

    query: dict[str, str]
    text: str


class FakeAura:
    """``async with FakeAura(key) as fake:``; point ``endpoint`` at ``fake.url``."""

    def __init__(self, api_key: str = "test-deepgram-key", *, chunk_size: int = 400) -> None:
        self.api_key = api_key
        self.chunk_size = chunk_size
        self.faults = HttpFaults()
        self.requests: list[AuraRequest] = []
        self.bytes_sent = [0]
        self._served = ServedApp(
            Starlette(routes=[Route("/v1/speak", self._speak, methods=["POST"])])
        )

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self._served.url

    async def __aenter__(self) -> FakeAura:
        await self._served.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._served.__aexit__(exc_type, exc, tb)

    async def _speak(self, request: Request) -> Response:
        if self.faults.statuses:
            status = self.faults.statuses.pop(0)
            return JSONResponse({"err_msg": "fault injected"}, status_code=status)
        if request.headers.get("authorization") != f"Token {self.api_key}":
            return JSONResponse({"err_code": "INVALID_AUTH"}, status_code=401)
        query = dict(request.query_params)
        if (query.get("encoding"), query.get("sample_rate"), query.get("container")) != (
            "mulaw",
            "8000",
            "none",
        ) or not query.get("model"):
            return JSONResponse({"err_code": "UNSUPPORTED_AUDIO_FORMAT"}, status_code=400)
        try:
            text = json.loads(await request.body())["text"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"err_code": "INVALID_BODY"}, status_code=400)
        self.requests.append(AuraRequest(query, text))
        body = stream_body(synthetic_audio(text), self.faults, self.chunk_size, self.bytes_sent)
        return StreamingResponse(body, media_type="audio/basic")
