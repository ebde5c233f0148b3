"""What one process holds: request deadlines, connection and call caps, the start deadline."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx
import pytest
import websockets

from telephonist.call.events import EventKind
from telephonist.simulator.caller import CallFailed


async def closed_by_server(reader: asyncio.StreamReader, within: float = 5.0) -> None:
    """Wait until the server closes the connection (EOF or reset)."""
    async with asyncio.timeout(within):
        with contextlib.suppress(ConnectionError):
            while await reader.read(1024):
                pass


async def test_a_connection_that_never_sends_a_request_is_closed(serve):
    """A silent connection, and one trickling a header line by line, are closed once
    request_timeout has passed since they connected; other requests are served meanwhile."""
    async with serve(limits={"request_timeout": 0.3}) as served, httpx.AsyncClient() as http:
        host, port = served.base_url.removeprefix("http://").split(":")
        began = time.monotonic()
        silent_reader, silent = await asyncio.open_connection(host, int(port))
        slow_reader, slow = await asyncio.open_connection(host, int(port))

        async def trickle() -> None:
            slow.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            with contextlib.suppress(ConnectionError):
                while not slow.is_closing():
                    slow.write(b"X-Slow: 1\r\n")
                    await slow.drain()
                    await asyncio.sleep(0.05)  # the slow client's pace, not a wait

        trickling = asyncio.create_task(trickle())
        assert (await http.get(f"{served.base_url}/health")).status_code == 200
        await closed_by_server(silent_reader)
        await closed_by_server(slow_reader)
        elapsed = time.monotonic() - began
        assert 0.3 <= elapsed < 3.0, elapsed
        trickling.cancel()
        silent.close()
        slow.close()
        # On a new connection: the first request's kept-alive one has idled past the 0.3 s
        # deadline by now, and the server may close it as it is reused.
        async with httpx.AsyncClient() as fresh:
            again = await fresh.get(f"{served.base_url}/health")
        assert again.status_code == 200, "new requests are still served"


async def test_at_the_cap_the_oldest_idle_connection_makes_room(serve):
    """With max_connections held by connections that sent nothing (raw, or websockets
    without start), a request and a call still get through: each newcomer closes the oldest
    idle connection."""
    async with serve(limits={"max_connections": 3}) as served, httpx.AsyncClient() as http:
        host, port = served.base_url.removeprefix("http://").split(":")
        oldest_reader, oldest = await asyncio.open_connection(host, int(port))
        url = (
            served.base_url.replace("http://", "ws://") + "/webhooks/twilio_media_streams/websocket"
        )
        idle_sockets = [await websockets.connect(url) for _ in range(2)]
        assert (await http.get(f"{served.base_url}/health")).status_code == 200
        await closed_by_server(oldest_reader, within=2.0)
        caller = await served.connected_call()  # its webhook made room: the first websocket
        async with asyncio.timeout(5):
            with pytest.raises(websockets.ConnectionClosed):
                await idle_sockets[0].recv()
        assert idle_sockets[0].close_code == 1008
        assert served.runtime.idle.evicted >= 2
        oldest.close()
        await idle_sockets[1].close()
        await caller.hang_up()


async def test_at_the_cap_with_nothing_idle_a_newcomer_is_closed(serve):
    """When every slot holds a live call, a new connection is closed at once; a slot freed
    serves again."""
    async with serve(limits={"max_connections": 2}) as served:
        calls = [await served.connected_call() for _ in range(2)]
        host, port = served.base_url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        async with asyncio.timeout(5):
            assert await reader.read() == b""
        writer.close()
        await calls[0].hang_up()
        await served.wait_event(EventKind.CALL_ENDED)
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{served.base_url}/health")).status_code == 200
        await calls[1].hang_up()


async def test_a_websocket_without_start_is_closed_after_start_timeout(serve):
    """An upgraded socket that never sends start is closed start_timeout seconds later
    (on the injected clock), holding nothing."""
    async with serve(limits={"start_timeout": 4}) as served:
        url = (
            served.base_url.replace("http://", "ws://") + "/webhooks/twilio_media_streams/websocket"
        )
        async with websockets.connect(url) as idle:
            await idle.send('{"event": "connected", "protocol": "Call", "version": "1.0.0"}')
            await served.clock.advance(3.9)
            assert idle.close_code is None
            await served.clock.advance(0.2)
            async with asyncio.timeout(5):
                with pytest.raises(websockets.ConnectionClosed):
                    await idle.recv()
            assert idle.close_code == 1008
        caller = await served.connected_call()  # a prompt start is unaffected
        await served.clock.advance(10)
        assert not caller.closed_by_server
        await caller.hang_up()


async def test_calls_beyond_max_calls_get_503_like_a_draining_server(serve):
    """max_calls counts live calls and answered ones still connecting; beyond it the
    webhook answers 503 (Twilio then tries the fallback URL); a slot freed is reused."""
    async with serve(limits={"max_calls": 2}) as served, httpx.AsyncClient() as http:
        live = await served.connected_call()
        connecting = served.caller()
        await connecting.dial()
        busy = await http.post(served.webhook, data={"CallSid": "CA" + "7" * 32})
        assert busy.status_code == 503 and busy.headers["retry-after"]
        await live.hang_up()
        await served.wait_event(EventKind.CALL_ENDED)
        await served.caller().dial()
        with pytest.raises(CallFailed, match="503"):
            await served.caller().dial()
        await connecting.connect()
        await served.wait_for_speech(connecting, served.assistant.greeting)
        await connecting.hang_up()
