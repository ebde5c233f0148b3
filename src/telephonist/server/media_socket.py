"""The media websocket: adapts a Starlette websocket to a `MediaStream` and a `CallSession`.

This is the per-call error boundary: whatever one caller sends, the worst outcome is that
their own call ends, with the reason logged once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from telephonist.call.events import CallEvent, EventKind
from telephonist.call.session import CallSession
from telephonist.errors import ProtocolError
from telephonist.recording import CallTap
from telephonist.server.runtime import Runtime
from telephonist.twilio.messages import Dtmf, Mark, Media, Start, Stop
from telephonist.twilio.stream import MediaStream
from telephonist.twilio.token import StreamTokens
from telephonist.twilio.twiml import stream_url

__all__ = ["WebSocketTransport", "media_socket"]

log = logging.getLogger(__name__)

CLAIM_TIMEOUT_S = 2.0
"""How long a stream's start waits for the shared store to confirm its token is unused."""


class WebSocketTransport:
    """`Transport` over a Starlette websocket; sends after close are dropped quietly."""

    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket
        self.closed = False

    async def send(self, text: str) -> None:
        """Send one text frame."""
        if self.closed:
            return
        try:
            await self._ws.send_text(text)
        except (RuntimeError, OSError, WebSocketDisconnect):
            self.closed = True

    async def close(self) -> None:
        """Close the socket once."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
            await self._ws.close()


class _Rejections:
    """Logs each kind of bad input once per call, with the call id."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._seen: set[str] = set()
        self.count = 0

    def __call__(self, reason: str, call_id: str) -> None:
        self.count += 1
        kind = "oversized frame" if reason.startswith("frame of") else reason
        self._runtime.events.publish(
            CallEvent(EventKind.REJECTED, call_id, self._runtime.clock.now(), {"reason": kind})
        )
        if kind not in self._seen:
            self._seen.add(kind)
            log.warning("stream.rejected: %s", reason, extra={"call_id": call_id})


async def media_socket(
    websocket: WebSocket, runtime: Runtime, *, verify_signature: bool = True
) -> None:
    """Serve one Twilio media stream (``verify_signature=False`` for the inspector's browser
    phone, which is not Twilio; its stream token is still checked on ``start``)."""
    if verify_signature and runtime.signatures is not None:
        url = stream_url(runtime.channel.server_url)
        if not runtime.signatures.valid_websocket(url, websocket.headers.get("x-twilio-signature")):
            log.warning("stream.bad_signature")
            await websocket.close(code=1008)  # before accept: the upgrade gets HTTP 403
            return
    await websocket.accept()
    transport = WebSocketTransport(websocket)
    stream = MediaStream()
    reject = _Rejections(runtime)
    session: CallSession | None = None
    tap: CallTap | None = None
    reason = "stream closed"
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                reject("binary frame", stream.start.call_sid if stream.start else "")
                continue
            try:
                frame = stream.receive(text)
            except ProtocolError as exc:
                reject(str(exc), session.call_id if session else "")
                continue
            if type(frame) is Media:
                if tap is not None:
                    tap.caller(frame.payload)
                if session is not None:
                    await session.audio(frame.payload)
            elif isinstance(frame, Start):
                session = await _start(frame, stream, transport, runtime)
                if session is None:
                    reason = "refused"
                    break
                tap = runtime.recordings.tap(session.call_id) if runtime.recordings else None
            elif session is None:
                continue
            elif isinstance(frame, Mark):
                if tap is not None:
                    tap.echoed(frame.name)
                await session.mark(frame.name)
            elif isinstance(frame, Dtmf):
                await session.dtmf(frame.digit)
            elif isinstance(frame, Stop):
                reason = "caller hung up"
                break
    except WebSocketDisconnect:
        pass
    except Exception:  # the per-call boundary: log, end this call, keep the server
        log.exception("stream.failed", extra={"call_id": session.call_id if session else ""})
        reason = "internal error"
    finally:
        if session is not None:
            await session.end(reason)
            runtime.sessions.pop(session.call_id, None)
        if websocket.client_state is WebSocketState.CONNECTED:
            await transport.close()


async def _claim(runtime: Runtime, token: str, call_sid: str) -> str | None:
    """Claim the token in the store every instance shares. A store that cannot answer in
    time does not refuse the call: this instance has already refused a second use itself."""
    assert runtime.claim is not None
    try:
        async with asyncio.timeout(CLAIM_TIMEOUT_S):
            first = await asyncio.to_thread(
                runtime.claim, StreamTokens.nonce(token), runtime.channel.stream_token_ttl + 5
            )
    except Exception as exc:  # any store failure (or timeout): log it, let the call in
        log.warning("stream.claim_unavailable: %s", type(exc).__name__, extra={"call_id": call_sid})
        return None
    return None if first else "stream token already used on another instance"


async def _start(
    frame: Start, stream: MediaStream, transport: WebSocketTransport, runtime: Runtime
) -> CallSession | None:
    """Check the stream token, then open the call; None (and a log line) if refused."""
    params = frame.custom_parameters
    call_sid = frame.call_sid
    assert runtime.tokens is not None
    token = params.get("stream_token", "")
    problem = "missing stream token" if not token else runtime.tokens.redeem(call_sid, token)
    if problem is None and params.get("call_id", call_sid) != call_sid:
        problem = "call_id parameter does not match the stream's callSid"
    if problem is None and runtime.claim is not None:
        problem = await _claim(runtime, token, call_sid)
    if problem is not None:
        log.warning("stream.refused: %s", problem, extra={"call_id": call_sid})
        return None
    metadata = {
        "call_id": call_sid,
        "stream_id": frame.stream_sid,
        "account_sid": frame.account_sid,
        "user_phone": params.get("user_phone", ""),
        "bot_phone": params.get("bot_phone", ""),
        "direction": params.get("direction", ""),
        "custom_parameters": {k: v for k, v in params.items() if k != "stream_token"},
    }
    session = CallSession(
        stream=stream,
        transport=runtime.recordings.wrap(call_sid, transport) if runtime.recordings else transport,
        assistant=runtime.assistant,
        asr=runtime.prewarmer.provider_for(call_sid) if runtime.prewarmer else runtime.asr,
        tts=runtime.tts,
        vad=runtime.vad,
        settings=runtime.settings,
        clock=runtime.clock,
        events=runtime.events,
        call_control=runtime.call_control,
        metadata=metadata,
        vad_batcher=runtime.vad_batcher,
    )
    runtime.sessions[call_sid] = session
    await session.open()
    return session
