"""Cartesia Sonic over its websocket: ``tts: {name: cartesia}``.

One websocket per engine, shared by every call: each message is its own ``context_id`` on it,
and every server frame is routed back to its context by that id. The socket is opened on first
use (or by `connect`, for pre-warming) and reopened when it has dropped. Closing a
``synthesize`` iterator early (barge-in) sends ``{"context_id": …, "cancel": true}``, so
Cartesia stops generating at once.

Keys: ``endpoint`` (bare host or full URL; default ``api.cartesia.ai``), ``model_id``
(``sonic-3``), ``version`` (the ``Cartesia-Version`` header, ``2026-03-01``), ``language_map``
(assistant language → ``{language, voice}``; default ``{language: en, voice:
f786b574-daa5-4673-aa0c-cbe3e8534c02}``), the deprecated top-level ``language`` / ``voice``,
``timeout`` (30 s without audio fails the message), ``transport`` (``websocket``, or
``bytes`` for the REST `CartesiaBytesTTS`). The key is read from
``CARTESIA_API_KEY`` and sent as ``Authorization: Bearer`` (plus ``X-API-Key`` for API
versions up to 2024-11-13, which used that header).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import re
import uuid
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from telephonist.errors import ProviderError
from telephonist.speech.provider_config import BlockReader
from telephonist.speech.registry import ProviderContext
from telephonist.speech.tts.base import VoiceSpec
from telephonist.speech.tts.cartesia_bytes import CartesiaBytesTTS
from telephonist.speech.tts.cartesia_settings import DEFAULTS, CartesiaSettings
from telephonist.speech.tts.http_stream import is_retryable_status
from telephonist.speech.websocket import open_websocket

__all__ = ["CartesiaSettings", "CartesiaTTS", "from_config"]

logger = logging.getLogger(__name__)

API_KEY_ENV = "CARTESIA_API_KEY"
KEYS = frozenset(
    {"endpoint", "model_id", "version", "language_map", "language", "voice", "timeout", "transport"}
)

_Item = bytes | ProviderError | None  # audio, a failure, or None for "done"


class CartesiaTTS:
    """`TTSEngine` multiplexing every message over one Cartesia websocket."""

    provider = "cartesia"

    def __init__(self, settings: CartesiaSettings) -> None:
        self.settings = settings
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._contexts: dict[str, asyncio.Queue[_Item]] = {}
        self._connecting = asyncio.Lock()
        self.connections = 0

    def __repr__(self) -> str:
        return f"CartesiaTTS(url={self.settings.url!r}, model_id={self.settings.model_id!r})"

    async def connect(self) -> ClientConnection:
        """The open socket, (re)connecting if needed; call early to pre-warm."""
        async with self._connecting:
            ws = self._ws
            if ws is not None and ws.state is State.OPEN:
                return ws
            ws = await open_websocket(
                self.settings.url,
                self.settings.headers(),
                provider="cartesia",
                open_timeout=self.settings.connect_timeout,
            )
            self._ws = ws
            self.connections += 1
            self._reader = asyncio.create_task(self._read(ws), name="cartesia.read")
            logger.info("cartesia.connected url=%s", self.settings.url)
            return ws

    async def warm_up(self) -> None:
        """Open the shared socket before the first message (TLS + handshake off the path)."""
        await self.connect()

    async def synthesize(self, text: str, voice: VoiceSpec) -> AsyncGenerator[bytes, None]:
        """Mu-law 8 kHz chunks for ``text``; closing early cancels the context."""
        context_id = uuid.uuid4().hex
        request = json.dumps(self.settings.request(text, voice, context_id))
        queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._contexts[context_id] = queue
        finished = False
        try:
            await self._send(request)
            while True:
                try:
                    async with asyncio.timeout(self.settings.timeout):
                        item = await queue.get()
                except TimeoutError:
                    raise ProviderError(
                        "cartesia", f"no audio for {self.settings.timeout:g} s", retryable=True
                    ) from None
                if item is None:
                    finished = True
                    return
                if isinstance(item, ProviderError):
                    finished = True
                    raise item
                yield item
        finally:
            self._contexts.pop(context_id, None)
            if not finished:
                await self._cancel(context_id)

    async def aclose(self) -> None:
        """Close the shared socket (at shutdown)."""
        ws, reader = self._ws, self._reader
        self._ws = None
        if ws is not None:
            await ws.close()
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def _send(self, request: str) -> None:
        for attempt in (1, 2):  # a socket that dropped while idle is reopened once
            ws = await self.connect()
            try:
                await ws.send(request)
                return
            except ConnectionClosed:
                if attempt == 2:
                    raise ProviderError(
                        "cartesia", "websocket closed while sending", retryable=True
                    ) from None

    async def _cancel(self, context_id: str) -> None:
        ws = self._ws
        if ws is None:
            return
        with contextlib.suppress(ConnectionClosed):
            await ws.send(json.dumps({"context_id": context_id, "cancel": True}))
        logger.debug("cartesia.cancelled context=%s", context_id)

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                if isinstance(raw, str):
                    self._route(raw)
        except ConnectionClosed:
            pass
        finally:
            if self._ws is ws:
                self._ws = None
            logger.info("cartesia.disconnected code=%s", ws.close_code)
            for queue in self._contexts.values():
                queue.put_nowait(
                    ProviderError("cartesia", "websocket closed mid-message", retryable=True)
                )

    def _route(self, raw: str) -> None:
        try:
            message = json.loads(raw)
            if not isinstance(message, dict):
                raise TypeError("not an object")
        except (ValueError, TypeError) as exc:
            logger.warning("cartesia.malformed_message error=%s", exc)
            return
        context_id = message.get("context_id")
        queue = self._contexts.get(context_id) if isinstance(context_id, str) else None
        kind = message.get("type")
        if kind == "error":
            error = _error(message)
            targets = [queue] if queue else [] if context_id else list(self._contexts.values())
            for target in targets:
                target.put_nowait(error)
        elif queue is None:
            return  # a cancelled context's last frames, or timestamps we did not ask for
        elif kind == "chunk":
            try:
                audio = base64.b64decode(message.get("data") or "", validate=True)
            except (binascii.Error, TypeError):
                queue.put_nowait(ProviderError("cartesia", "malformed audio chunk", retryable=True))
                return
            if audio:
                queue.put_nowait(audio)
        elif kind == "done":
            queue.put_nowait(None)


def _error(message: Mapping[str, Any]) -> ProviderError:
    status = message.get("status_code")
    text = message.get("message") or message.get("error") or message.get("title") or "error"
    code = message.get("error_code")
    return ProviderError(
        "cartesia",
        f"{text}" + (f" ({code})" if code else ""),
        retryable=isinstance(status, int) and is_retryable_status(status),
    )


def _version(reader: BlockReader) -> str:
    version = reader.string("version", "2026-03-01") or "2026-03-01"
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", version):
        raise reader.error("must be an API version date like 2026-03-01", key="version")
    return version


def from_config(
    config: Mapping[str, Any], context: ProviderContext
) -> CartesiaTTS | CartesiaBytesTTS:
    """Validate a ``tts: {name: cartesia, …}`` block (``name`` already removed)."""
    reader = BlockReader(config, context, KEYS)
    transport = reader.string("transport", "websocket")
    if transport not in ("websocket", "bytes"):
        raise reader.error("must be websocket or bytes", key="transport")
    websocket = transport == "websocket"
    settings = CartesiaSettings(
        url=reader.endpoint(
            kind="websocket" if websocket else "http",
            default_host="api.cartesia.ai",
            default_path="/tts/websocket" if websocket else "/tts/bytes",
        ),
        api_key=reader.api_key(API_KEY_ENV),
        model_id=reader.string("model_id", "sonic-3") or "sonic-3",
        version=_version(reader),
        languages=reader.language_map(DEFAULTS, required="voice", fields=("language", "voice")),
        timeout=reader.number("timeout", 30.0, minimum=0.1),
    )
    return CartesiaTTS(settings) if websocket else CartesiaBytesTTS(settings)
