"""A local Cartesia TTS websocket (``/tts/websocket``) over a real websocket.

It accepts every documented way to authenticate (``Authorization: Bearer``, ``X-API-Key``,
``?api_key=``/``?access_token=``) and requires an API version (``Cartesia-Version`` header or
``?cartesia_version=``). Each generation request is checked (``model_id``, ``voice {mode: id,
id}``, ``output_format {container: raw, encoding: pcm_mulaw, sample_rate: 8000}`` or ``{container:
raw, encoding: pcm_s16le, sample_rate: R}`` at a documented rate, ``context_id``) and answered
with base64 ``chunk`` frames of `synthetic_audio` of the transcript (``bytes_per_char``
mu-law bytes a character: 40, or about 480 for the pace of speech), then ``done``; contexts on
one socket are served concurrently, each frame tagged with its ``context_id``. A request with
``continue: true`` is one piece of its context: its audio follows the pieces before it, and
``done`` waits for the piece without it (whose empty transcript, as clients finish a context,
adds no audio). ``{"context_id": …, "cancel": true}`` stops that context at once.

``pcm_s16le`` audio is the same synthetic audio decoded from mu-law and repeated up to the
requested rate (nearest sample), sent in chunks of the same duration as the mu-law ones: a client
asking for either hears the same thing at the same moments.

Faults (`CartesiaFaults`): an ``error`` frame for the next request, dropping the TCP
connection after N chunks, a malformed frame, a delay before the first chunk.

`FakeCartesiaBytes` serves the REST ``POST /tts/bytes`` with the same checks (faults as in
the Azure fake: statuses, slow first byte, held or cut bodies).
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse, StreamingResponse
from starlette.responses import Response as HttpResponse
from starlette.routing import Route
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from telephonist.audio import mulaw

from .azure_tts_server import HttpFaults, stream_body
from .http_app import ServedApp
from .synthetic import synthetic_audio
from .websocket_fake import WebsocketFake

__all__ = ["CartesiaFaults", "FakeCartesia", "FakeCartesiaBytes"]

OUTPUT_FORMAT = {"container": "raw", "encoding": "pcm_mulaw", "sample_rate": 8000}
PCM_RATES = frozenset({8000, 16000, 22050, 24000, 44100, 48000})
"""Sample rates the protocol notes list for raw output."""


@dataclass
class CartesiaFaults:
    """Failures to inject; each fires once."""

    error_next: tuple[int, str] | None = None  # (status_code, error_code) for the next request
    drop_after_chunks: int | None = None  # abort TCP after this many chunks on a socket
    malformed_next: bool = False  # a non-JSON frame before the next request's audio
    first_chunk_delay: float = 0.0


@dataclass
class Handshake:
    """How one connection authenticated."""

    version: str | None
    auth: str  # "bearer" | "x-api-key" | "query"


class FakeCartesia(WebsocketFake):
    """``async with FakeCartesia(key) as fake:``; point ``endpoint`` at ``fake.url``."""

    def __init__(
        self,
        api_key: str = "test-cartesia-key",
        *,
        chunk_size: int = 320,
        chunk_interval: float = 0.0,
        bytes_per_char: int = 40,
    ) -> None:
        self.api_key = api_key
        self.chunk_size = chunk_size
        self.bytes_per_char = bytes_per_char
        self.chunk_interval = chunk_interval
        self.faults = CartesiaFaults()
        self.handshakes: list[Handshake] = []
        self.requests: list[dict[str, Any]] = []
        self.cancels: list[str] = []
        self.chunks_sent: dict[str, int] = {}
        self.open_sockets = 0
        """Connections open now (handshakes count every one ever made)."""
        super().__init__()

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        query = dict(parse_qsl(parts.query))
        if parts.path != "/tts/websocket":
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        version = query.get("cartesia_version") or request.headers.get("Cartesia-Version")
        if not version:
            return connection.respond(HTTPStatus.BAD_REQUEST, "Cartesia-Version is required\n")
        if request.headers.get("Authorization") == f"Bearer {self.api_key}":
            auth = "bearer"
        elif request.headers.get("X-API-Key") == self.api_key:
            auth = "x-api-key"
        elif self.api_key in (query.get("api_key"), query.get("access_token")):
            auth = "query"
        else:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid API key\n")
        self.handshakes.append(Handshake(version, auth))
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        generators: dict[str, asyncio.Task[None]] = {}
        pieces: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        sent = [0]
        self.open_sockets += 1
        await self._notify()
        try:
            async for raw in ws:
                message = json.loads(raw)
                context_id = message.get("context_id", "")
                if message.get("cancel"):
                    self.cancels.append(context_id)
                    task = generators.pop(context_id, None)
                    if task is not None:
                        task.cancel()
                else:
                    self.requests.append(message)
                    task = generators.get(context_id)
                    if task is None or task.done():
                        pieces[context_id] = asyncio.Queue()
                        generators[context_id] = asyncio.create_task(
                            self._generate(ws, pieces[context_id], sent)
                        )
                    pieces[context_id].put_nowait(message)
                await self._notify()
        except ConnectionClosed:
            pass
        finally:
            for task in generators.values():
                task.cancel()
            self.open_sockets -= 1
            await self._notify()

    async def _generate(
        self, ws: ServerConnection, pieces: asyncio.Queue[dict[str, Any]], sent: list[int]
    ) -> None:
        """One context: its pieces in order, then ``done`` after the last."""
        first = True
        while True:
            request = await pieces.get()
            if not await self._piece(ws, request, sent, first=first):
                return
            first = False
            if not request.get("continue"):
                break
        await ws.send(
            json.dumps(
                {
                    "type": "done",
                    "done": True,
                    "status_code": 206,
                    "context_id": str(request.get("context_id")),
                }
            )
        )

    async def _piece(
        self, ws: ServerConnection, request: dict[str, Any], sent: list[int], *, first: bool
    ) -> bool:
        """One request's audio; False when the context ended instead (an error, a drop)."""
        context_id = str(request.get("context_id"))
        problem = _invalid(request) or (
            None if request.get("context_id") else (400, "invalid_request", "no context_id")
        )
        faults = self.faults
        if problem is None and faults.error_next is not None:
            (status, code), faults.error_next = faults.error_next, None
            problem = (status, code, "fault injected")
        if problem is not None:
            status, code, text = problem
            await ws.send(
                json.dumps(
                    {
                        "type": "error",
                        "context_id": context_id,
                        "done": True,
                        "status_code": status,
                        "error_code": code,
                        "title": "Error",
                        "message": text,
                    }
                )
            )
            return False
        if faults.malformed_next:
            faults.malformed_next = False
            await ws.send("{oops")
        if faults.first_chunk_delay and first:
            await asyncio.sleep(faults.first_chunk_delay)
        if not first and not request["transcript"]:
            return True  # the empty piece that ends a continued context
        output = request["output_format"]
        speech = synthetic_audio(request["transcript"], bytes_per_char=self.bytes_per_char)
        audio = rendered(speech, output)
        size = chunk_bytes(self.chunk_size, output)
        for offset in range(0, len(audio), size):
            data = base64.b64encode(audio[offset : offset + size]).decode("ascii")
            await ws.send(
                json.dumps(
                    {
                        "type": "chunk",
                        "data": data,
                        "done": False,
                        "status_code": 206,
                        "step_time": 1.0,
                        "context_id": context_id,
                    }
                )
            )
            sent[0] += 1
            self.chunks_sent[context_id] = self.chunks_sent.get(context_id, 0) + 1
            await self._notify()
            if faults.drop_after_chunks is not None and sent[0] >= faults.drop_after_chunks:
                faults.drop_after_chunks = None
                ws.transport.abort()
                return False
            if self.chunk_interval:
                await asyncio.sleep(self.chunk_interval)
        return True


def rendered(audio: bytes, output_format: dict[str, Any]) -> bytes:
    """Mu-law ``audio`` in the requested raw encoding (a checked ``output_format``)."""
    if output_format["encoding"] == "pcm_mulaw":
        return audio
    pcm = mulaw.decode(audio).astype("<i2")
    rate = int(output_format["sample_rate"])
    picks = np.arange(len(pcm) * rate // 8000) * 8000 // rate
    return pcm[picks].tobytes()


def chunk_bytes(mulaw_chunk: int, output_format: dict[str, Any]) -> int:
    """Bytes of the requested encoding lasting as long as ``mulaw_chunk`` mu-law bytes."""
    if output_format["encoding"] == "pcm_mulaw":
        return mulaw_chunk
    return max(2, mulaw_chunk * int(output_format["sample_rate"]) // 8000 * 2)


def _format_ok(output_format: object) -> bool:
    if output_format == OUTPUT_FORMAT:
        return True
    return (
        isinstance(output_format, dict)
        and output_format.get("container") == "raw"
        and output_format.get("encoding") == "pcm_s16le"
        and output_format.get("sample_rate") in PCM_RATES
    )


def _invalid(request: dict[str, Any]) -> tuple[int, str, str] | None:
    voice = request.get("voice")
    if not request.get("model_id"):
        return 400, "invalid_request", "model_id is required"
    if not isinstance(voice, dict) or voice.get("mode") != "id" or not voice.get("id"):
        return 400, "invalid_request", "voice must be {mode: id, id}"
    if not _format_ok(request.get("output_format")):
        return 400, "invalid_request", "unsupported output_format"
    if "transcript" not in request:
        return 400, "invalid_request", "transcript is required"
    if request.get("model_id") == "no-such-model":
        return 404, "model_not_found", "model not found"
    return None


class FakeCartesiaBytes:
    """``async with FakeCartesiaBytes(key) as fake:``; REST ``/tts/bytes`` at ``fake.url``."""

    def __init__(self, api_key: str = "test-cartesia-key", *, chunk_size: int = 400) -> None:
        self.api_key = api_key
        self.chunk_size = chunk_size
        self.faults = HttpFaults()
        self.requests: list[dict[str, Any]] = []
        self.versions: list[str] = []
        self.bytes_sent = [0]
        self._served = ServedApp(
            Starlette(routes=[Route("/tts/bytes", self._bytes, methods=["POST"])])
        )

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self._served.url

    async def __aenter__(self) -> FakeCartesiaBytes:
        await self._served.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._served.__aexit__(exc_type, exc, tb)

    async def _bytes(self, request: HttpRequest) -> HttpResponse:
        if self.faults.statuses:
            status = self.faults.statuses.pop(0)
            return JSONResponse(
                {"title": "fault injected", "status_code": status}, status_code=status
            )
        headers = request.headers
        version = headers.get("cartesia-version")
        if not version:
            return JSONResponse({"message": "Cartesia-Version is required"}, status_code=400)
        if (
            headers.get("authorization") != f"Bearer {self.api_key}"
            and headers.get("x-api-key") != self.api_key
        ):
            return JSONResponse({"message": "invalid API key"}, status_code=401)
        body = json.loads(await request.body())
        problem = _invalid(body)
        if problem is None and ("context_id" in body or "continue" in body):
            problem = (400, "invalid_request", "context_id/continue are websocket-only")
        if problem is not None:
            status, code, text = problem
            return JSONResponse(
                {"title": "Error", "error_code": code, "message": text, "status_code": status},
                status_code=status,
            )
        self.requests.append(body)
        self.versions.append(version)
        audio = rendered(synthetic_audio(body["transcript"]), body["output_format"])
        return StreamingResponse(
            stream_body(audio, self.faults, self.chunk_size, self.bytes_sent),
            media_type="audio/basic",
        )
