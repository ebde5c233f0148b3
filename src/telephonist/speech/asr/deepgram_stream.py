"""One call's Deepgram live connection: audio out, events in, and survival of drops.

The caller's audio since the end of the last turn is kept in a bounded `ReplayBuffer`. When
the socket drops mid-call (close code, network error, Deepgram's 1011 idle close), the stream
reconnects with exponential backoff and replays that audio first, so the turn in progress is
recognised again in full and no word is lost; audio that arrives meanwhile is buffered, not
dropped. Only after ``reconnect_attempts`` failures (or at once, on a refused key) does
``events()`` yield ``ASRError(retryable=False)`` and end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from telephonist.errors import ProviderError
from telephonist.speech.asr.base import ASRError, ASREvent
from telephonist.speech.asr.deepgram_turns import BYTES_PER_SECOND, ReplayBuffer, TurnAssembler
from telephonist.speech.websocket import open_websocket

__all__ = ["DeepgramStream", "StreamTiming"]

logger = logging.getLogger(__name__)

_REPLAY_CHUNK = 3200  # 400 ms of mu-law per websocket frame when replaying


@dataclass(frozen=True)
class StreamTiming:
    """Every interval and limit of a stream, in seconds unless named otherwise."""

    keep_alive_interval: float = 5.0
    reconnect_attempts: int = 5
    backoff_initial: float = 0.25
    backoff_max: float = 4.0
    connect_timeout: float = 10.0
    close_timeout: float = 3.0
    replay_limit_bytes: int = 60 * BYTES_PER_SECOND

    def backoff(self, attempt: int) -> float:
        """Delay before reconnect ``attempt`` (1-based): the first is immediate."""
        if attempt <= 1:
            return 0.0
        return float(min(self.backoff_initial * 2 ** (attempt - 2), self.backoff_max))


@dataclass
class _State:
    ws: ClientConnection | None = None
    base: int = 0  # absolute audio offset where the current connection's audio starts
    last_send: float = 0.0
    closing: bool = False
    finished: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class DeepgramStream:
    """An `ASRStream` over Deepgram's ``/v1/listen`` websocket."""

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str],
        timing: StreamTiming,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._headers = dict(headers)
        self._timing = timing
        self._clock = clock
        self._events: asyncio.Queue[ASREvent | None] = asyncio.Queue()
        self._buffer = ReplayBuffer(timing.replay_limit_bytes)
        self._turns = TurnAssembler()
        self._lock = asyncio.Lock()  # orders audio/control sends against (re)connection
        self._state = _State()
        self.reconnects = 0

    def __repr__(self) -> str:
        return f"DeepgramStream(url={self._url!r}, reconnects={self.reconnects})"

    async def start(self) -> None:
        """Open the connection (raises ProviderError) and start reading and keeping alive."""
        self._state.ws = await self._connect()
        self._state.last_send = self._clock()
        self._state.tasks = [
            asyncio.create_task(self._read(), name="deepgram.read"),
            asyncio.create_task(self._keep_alive(), name="deepgram.keepalive"),
        ]
        logger.info("deepgram.connected url=%s", self._url)

    async def send(self, audio: bytes) -> None:
        """Buffer ``audio`` for replay and send it if connected (never an empty frame)."""
        if not audio or self._state.closing or self._state.finished:
            return
        async with self._lock:
            self._buffer.append(audio)
            ws = self._state.ws
            if ws is None:
                return  # reconnecting: the replay will carry it
            with contextlib.suppress(ConnectionClosed):  # the reader notices and reconnects
                await ws.send(audio)
                self._state.last_send = self._clock()

    async def on_vad(self, speaking: bool) -> None:
        """At the end of speech ask Deepgram to flush now (``Finalize``) instead of waiting."""
        if not speaking:
            await self._control({"type": "Finalize"})

    async def on_pause(self, paused: bool) -> None:
        """Not asked for (Deepgram declares no ``pause_ms``): it endpoints on its own."""

    async def events(self) -> AsyncIterator[ASREvent]:
        """SpeechStarted / Partial / Final, and ASRError when the connection is lost for good."""
        while True:
            event = await self._events.get()
            if event is None:
                return
            yield event

    async def close(self) -> None:
        """``CloseStream``, read the last results, then close; ``events()`` ends."""
        state = self._state
        if state.closing:
            return
        state.closing = True
        reader = state.tasks[0] if state.tasks else None
        for task in state.tasks[1:]:
            task.cancel()  # no KeepAlive after CloseStream
        ws = state.ws
        if ws is not None:
            with contextlib.suppress(ConnectionClosed):
                await ws.send(json.dumps({"type": "CloseStream"}))
            if reader is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(reader), self._timing.close_timeout)
            await ws.close()
        for task in state.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._finish()
        logger.info("deepgram.closed reconnects=%d", self.reconnects)

    async def _connect(self) -> ClientConnection:
        return await open_websocket(
            self._url, self._headers, provider="deepgram", open_timeout=self._timing.connect_timeout
        )

    async def _control(self, message: Mapping[str, Any]) -> None:
        async with self._lock:
            ws = self._state.ws
            if ws is None or self._state.closing:
                return
            with contextlib.suppress(ConnectionClosed):
                await ws.send(json.dumps(message))  # control messages are text frames
                self._state.last_send = self._clock()

    async def _keep_alive(self) -> None:
        interval = self._timing.keep_alive_interval
        while True:
            delay = self._state.last_send + interval - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            await self._control({"type": "KeepAlive"})
            if self._state.ws is None:  # reconnecting: try again shortly
                await asyncio.sleep(interval)

    async def _read(self) -> None:
        try:
            while True:
                ws = self._state.ws
                if ws is None:
                    return
                try:
                    async for raw in ws:
                        self._handle(raw)
                except ConnectionClosed:
                    pass
                if self._state.closing:
                    return
                logger.warning("deepgram.dropped code=%s reason=%s", ws.close_code, ws.close_reason)
                if not await self._reconnect():
                    return
        finally:
            self._finish()

    def _handle(self, raw: str | bytes) -> None:
        if isinstance(raw, bytes):
            return
        try:
            message = json.loads(raw)
            if not isinstance(message, dict):
                raise TypeError("not an object")
            if message.get("type") == "Error":
                logger.warning(
                    "deepgram.error variant=%s description=%s",
                    message.get("variant"),
                    message.get("description"),
                )
                return
            events, end = self._turns.feed(message)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            logger.warning("deepgram.malformed_message error=%s", exc)
            return
        if end is not None:
            self._buffer.trim_to(self._state.base + int(end * BYTES_PER_SECOND))
        for event in events:
            self._events.put_nowait(event)

    async def _reconnect(self) -> bool:
        async with self._lock:
            self._state.ws = None  # from now on send() only buffers
        self._turns.reset()  # the replay will recognise the turn in progress again
        last = "connection lost"
        for attempt in range(1, self._timing.reconnect_attempts + 1):
            await asyncio.sleep(self._timing.backoff(attempt))
            if self._state.closing:
                return False
            try:
                ws = await self._connect()
            except ProviderError as exc:
                last = str(exc)
                logger.warning("deepgram.reconnect_failed attempt=%d error=%s", attempt, exc)
                if not exc.retryable:
                    break
                continue
            if await self._resume(ws):
                self.reconnects += 1
                logger.info(
                    "deepgram.reconnected attempt=%d replayed_bytes=%d", attempt, len(self._buffer)
                )
                # Retryable: the call goes on; the event (and its metric) records the drop.
                self._events.put_nowait(
                    ASRError(
                        f"deepgram: reconnected after {last} (attempt {attempt})", retryable=True
                    )
                )
                return True
        self._events.put_nowait(
            ASRError(f"deepgram: {last}; gave up after reconnecting", retryable=False)
        )
        return False

    async def _resume(self, ws: ClientConnection) -> bool:
        async with self._lock:
            self._state.base = self._buffer.start
            replay = self._buffer.snapshot()
            try:
                for offset in range(0, len(replay), _REPLAY_CHUNK):
                    await ws.send(replay[offset : offset + _REPLAY_CHUNK])
            except ConnectionClosed:
                return False
            except asyncio.CancelledError:  # closed while replaying: don't leak the socket
                ws.transport.abort()
                raise
            self._state.ws = ws
            self._state.last_send = self._clock()
            return True

    def _finish(self) -> None:
        if self._state.finished:
            return
        self._state.finished = True
        final = self._turns.flush()
        if final is not None:
            self._events.put_nowait(final)
        self._events.put_nowait(None)
