"""The media websocket: adapts a Starlette websocket to a `MediaStream` and a `CallSession`.

This is the per-call error boundary: whatever one caller sends, the worst outcome is that
their own call ends, with the reason logged once. It also holds what one connection may cost:
``start`` within ``limits.start_timeout``, a few bad frames before it, and caller audio within
the stream's `MediaBudget`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from functools import partial
from typing import Any

from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from telephonist.audio.formats import MULAW_BYTES_PER_MS
from telephonist.call.session import CallSession
from telephonist.config.limits import Limits
from telephonist.recording import CallTap
from telephonist.server.media_budget import MediaBudget
from telephonist.server.rejections import Rejections
from telephonist.server.replay import record_start
from telephonist.server.runtime import Runtime
from telephonist.server.stream_end import StreamEnd
from telephonist.twilio.messages import Dtmf, InboundMessage, Mark, Media, Start, Stop
from telephonist.twilio.rejection import FrameRejected, Rejection
from telephonist.twilio.stream import MediaStream
from telephonist.twilio.token import STREAMED_CALL_MEMORY_S, StreamTokens, claim_key
from telephonist.twilio.twiml import stream_url

__all__ = ["WebSocketTransport", "media_socket"]

log = logging.getLogger(__name__)

CLAIM_TIMEOUT_S = 2.0
"""How long a stream's start waits for the shared store to confirm its call is new."""
DROPS_PER_REPORT = 500
"""Frames dropped over budget are counted in /metrics in batches of this many."""


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

    async def close(self, code: int = 1000) -> None:
        """Close the socket once (1008: policy violation, for a refused stream)."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
            await self._ws.close(code)


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
    reject = Rejections(runtime.events, runtime.clock)
    session: CallSession | None = None
    end: StreamEnd | None = None
    tap: CallTap | None = None
    reason = "stream closed"
    try:
        start = await _await_start(websocket, stream, reject, runtime)
        call = None if start is None else await _start(start, stream, transport, runtime)
        if call is not None:
            session, end = call
            reject.call_id = session.call_id
            await session.open()  # in the boundary: a failure is this call's internal error
            tap = runtime.recordings.tap(session.call_id) if runtime.recordings else None
            reason = await _serve_call(websocket, stream, session, end, reject, runtime, tap)
    except WebSocketDisconnect:
        pass
    except Exception:  # the per-call boundary: log, end this call, keep the server
        log.exception("stream.failed", extra={"call_id": session.call_id if session else ""})
        reason = "internal error"
    finally:
        try:
            if session is not None and end is not None:
                await _release(runtime, session, end, reason)
        finally:
            if websocket.client_state is WebSocketState.CONNECTED:
                await transport.close(1000 if session is not None else 1008)


async def _release(runtime: Runtime, session: CallSession, end: StreamEnd, reason: str) -> None:
    """End the session (its end recorded first when on purpose) and forget it, even if
    ending it fails: a session left in ``runtime.sessions`` would count as a call forever."""
    try:
        await session.end(reason, resumable=await _stream_lost(runtime, session, end, reason))
    finally:
        if runtime.sessions.get(session.call_id) is session:  # not a resumed successor
            del runtime.sessions[session.call_id]


def _parse(message: Message, stream: MediaStream, reject: Rejections) -> InboundMessage | None:
    """The frame in a websocket message; None (and a refusal counted) if it is not one."""
    text = message.get("text")
    if text is None:
        reject(Rejection.BINARY)
        return None
    try:
        return stream.receive(text)
    except FrameRejected as exc:
        reject(exc.reason, str(exc))
        return None


async def _await_start(
    websocket: WebSocket, stream: MediaStream, reject: Rejections, runtime: Runtime
) -> Start | None:
    """Frames up to ``start``, which must come within ``limits.start_timeout``; None when
    the socket closes, the time is up, too many bad frames came first, or it was the oldest
    idle connection when the server needed room."""
    deadline = asyncio.ensure_future(runtime.clock.sleep(runtime.channel.limits.start_timeout))
    evicted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    runtime.idle.add(evicted, lambda: evicted.cancel())  # done: the socket is closed below
    outcome = "closed"
    try:
        while True:
            receiving = asyncio.ensure_future(websocket.receive())
            waits: set[asyncio.Future[Any]] = {receiving, deadline, evicted}
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            if not receiving.done():
                receiving.cancel()
                outcome = "closed to make room" if evicted.done() else "no start in time"
                log.debug("stream.no_start: %s", outcome)
                return None
            message = receiving.result()
            if message["type"] == "websocket.disconnect":
                return None
            frame = _parse(message, stream, reject)
            if isinstance(frame, Start):
                outcome = "start followed"
                return frame
            if reject.exhausted:
                return None
    finally:
        deadline.cancel()
        runtime.idle.discard(evicted)
        reject.summarise(outcome)


async def _serve_call(
    websocket: WebSocket,
    stream: MediaStream,
    session: CallSession,
    end: StreamEnd,
    reject: Rejections,
    runtime: Runtime,
    tap: CallTap | None,
) -> str:
    """Feed the call its frames (and the recording its audio and echoes) until it ends;
    returns why it ended (a close is the server's own stop only if the server said so
    first: a proxy may send the same close code)."""
    limits = runtime.channel.limits
    budget = MediaBudget(limits.media_rate, limits.media_burst, time.monotonic)
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return "server stopped" if end.stopped else "stream closed"
            frame = _parse(message, stream, reject)
            if type(frame) is Media:  # the hot path: one budget check per frame
                if budget.admit(len(frame.payload) / MULAW_BYTES_PER_MS):
                    if tap is not None:
                        tap.caller(frame.payload)
                    await session.audio(frame.payload)
                elif budget.dropped - budget.reported >= (
                    DROPS_PER_REPORT if budget.reported else 1
                ):
                    _report_drops(budget, reject, limits)
            elif isinstance(frame, Mark):
                if tap is not None:
                    tap.echoed(frame.name)
                await session.mark(frame.name)
            elif isinstance(frame, Dtmf):
                await session.dtmf(frame.digit)
            elif isinstance(frame, Stop):
                return "caller hung up"
    finally:
        _report_drops(budget, reject, limits)


def _report_drops(budget: MediaBudget, reject: Rejections, limits: Limits) -> None:
    """Count dropped frames in batches (the first at once, with the one log line)."""
    count = budget.dropped - budget.reported
    if count > 0:
        budget.reported = budget.dropped
        rate = f"over {limits.media_rate:g}x real time after a {limits.media_burst:g} s burst"
        reject(Rejection.OVER_RATE, f"{Rejection.OVER_RATE.value}: {rate}", count=count)


async def _claim(runtime: Runtime, call_sid: str, stream: int) -> str | None:
    """Claim the call's stream in the store every instance shares: each stream of a call
    starts once, whichever instance answered its webhook (a replayed webhook's fresh token is
    worthless), and an instance that answered it can tell it started elsewhere.
    A store that cannot answer in time does not refuse the call: this instance has already
    refused a second stream itself."""
    assert runtime.claim is not None
    try:
        async with asyncio.timeout(CLAIM_TIMEOUT_S):
            first = await asyncio.to_thread(
                runtime.claim, claim_key(call_sid, stream), STREAMED_CALL_MEMORY_S
            )
    except Exception as exc:  # any store failure (or timeout): log it, let the call in
        log.warning("stream.claim_unavailable: %s", type(exc).__name__, extra={"call_id": call_sid})
        return None
    started = "this call already streamed" if stream == 0 else "this stream already started"
    return None if first else f"{started} on another instance"


async def _stream_lost(runtime: Runtime, session: CallSession, end: StreamEnd, reason: str) -> bool:
    """Whether the call may resume on a new stream: it was lost without the server deciding
    it (nor the bot its hang-up), and its TwiML has a redirect. Any other end is recorded in
    the shared ledger before the socket is closed, so the redirect that follows is hung up
    on every instance."""
    resumes = runtime.resumes
    if resumes is None or session.end_reason is not None:
        return False  # no resume; or the session ended itself (and said so to the ledger)
    if await end.decided() is not None:
        return False  # the bot was hanging up, or the server stopping: recorded already
    if reason == "stream closed":
        return session.stream_number < resumes.settings.max_per_call
    await end.on_purpose(reason)
    return False


async def _start(
    frame: Start, stream: MediaStream, transport: WebSocketTransport, runtime: Runtime
) -> tuple[CallSession, StreamEnd] | None:
    """Check the stream token, then make the call's session (registered, not opened yet)
    and what records its end; None (and a log line) if refused."""
    params = frame.custom_parameters
    call_sid = frame.call_sid
    assert runtime.tokens is not None
    token = params.get("stream_token", "")
    problem = None
    if params.get("call_id", call_sid) != call_sid:  # checked before the token is spent
        problem = "call_id parameter does not match the stream's callSid"
    elif not token:
        problem = "missing stream token"
    else:
        problem = runtime.tokens.redeem(call_sid, token)
    number = StreamTokens.stream_of(token)
    resumes = runtime.resumes
    if problem is None and runtime.claim is not None:
        problem = await _claim(runtime, call_sid, number)
    if problem is None and resumes is not None:
        problem = await resumes.started(call_sid, number, StreamTokens.nonce_of(token))
    elif problem is None and runtime.ledger is not None:  # for replays on other instances
        await record_start(runtime.ledger, call_sid, StreamTokens.nonce_of(token))
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
    end = StreamEnd(None if resumes is None else partial(resumes.ended, call_sid, number))
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
        turn_scorer=runtime.turn_scorer,
        stream_number=number,
        on_purpose=end.on_purpose,
    )
    runtime.stream_ends[session] = end  # for stop_streams
    runtime.sessions[call_sid] = session
    return session, end
