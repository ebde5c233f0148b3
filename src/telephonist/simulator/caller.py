"""`TwilioCaller`: behaves towards a Media Streams server exactly as Twilio does.

It POSTs the voice webhook with realistic form parameters (signed like Twilio when given the
auth token, with the Basic-auth 401 dance when the URL carries ``user:pass@``), parses the
TwiML, opens the ``<Stream>`` websocket (signed), sends ``connected``/``start`` with the
``<Parameter>``s, streams caller audio as 20 ms mu-law ``media`` frames, and plays the bot's
audio out of a `Playout` buffer, echoing marks when playback reaches them and at once on
``clear``. Playback advances only when told (``play``), or in real time with
``realtime_playout()``, so tests decide exactly what the caller has heard.

When the server closes the stream (or it is lost), the call goes on with the TwiML after
``<Connect>``, as on Twilio: a ``<Redirect>`` is POSTed (signed, form as for the webhook) and
its answer run — a new ``<Connect><Stream>`` opens a new stream for the same call,
``<Hangup/>`` or nothing ends it. ``redirect_url`` sends redirects to another server, as a
load balancer may; each stream is kept in ``legs`` with its timing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from twilio.request_validator import RequestValidator
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from telephonist.audio.formats import FRAME_BYTES, FRAME_MS
from telephonist.simulator.twiml import CallFailed, TwiML, parse_twiml
from telephonist.simulator.webhook import TwimlRequests
from telephonist.twilio.playout import Playout

__all__ = ["CallFailed", "StreamLeg", "TwiML", "TwilioCaller", "parse_twiml"]

_SILENT_FRAME = b"\xff" * FRAME_BYTES
_SILENT_PAYLOAD = base64.b64encode(_SILENT_FRAME).decode("ascii")


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


@dataclass
class StreamLeg:
    """One media stream of the call (``time.perf_counter`` seconds)."""

    stream_sid: str
    connected_at: float
    first_media_at: float | None = None
    closed_at: float | None = None
    close_code: int | None = None


@dataclass
class TwilioCaller:
    """One simulated phone call."""

    webhook_url: str
    auth_token: str | None = field(default=None, repr=False)
    stream_url_override: str | None = None
    """Connect here instead of the TwiML's URL (e.g. ``ws://`` to a local server); the
    signature is still computed over the TwiML's ``wss://`` URL, as Twilio does."""
    public_url: str | None = None
    """The webhook URL as configured at Twilio, when ``webhook_url`` reaches the same server
    another way (``http://localhost:5005/...``): the webhook is signed for the public URL,
    as Twilio signs it, and a stream URL on the public host is reached on the local one."""
    redirect_url: str | None = None
    """Send ``<Redirect>`` requests to this server (``http://host:port``) instead of the one
    the TwiML names, as a load balancer may send them to another instance (signed for the
    URL Twilio would request); the streams of its answers are opened there too."""
    insecure_local: bool = False
    """Open a TwiML's ``wss://`` stream URL over plain ``ws://`` (a local server)."""
    caller: str = "+15550100001"
    callee: str = "+15550100002"
    extra_form: Mapping[str, str] = field(default_factory=dict)
    call_sid: str = field(default_factory=lambda: _sid("CA"))
    account_sid: str = field(default_factory=lambda: _sid("AC"))
    stream_sid: str = field(default_factory=lambda: _sid("MZ"))
    keep_audio: bool = True
    """False for long or many calls: bot audio and ``media`` messages are counted, not kept."""

    def __post_init__(self) -> None:
        self.playout = Playout(keep_played=self.keep_audio)
        self.messages: list[dict[str, Any]] = []
        self.received_audio = bytearray()
        self.received_bytes = 0
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        """Called with each message from the server as it arrives (before marks are echoed)."""
        self.close_code: int | None = None
        self.clears = 0
        self.twiml: TwiML | None = None
        self.closed_by_server = False
        """The call is over, ended by the server (its last stream closed, nothing followed)."""
        self.legs: list[StreamLeg] = []
        self.ended_by: str | None = None
        """How the server ended the call: ``<Hangup/>``, ``end of TwiML`` or what failed."""
        self._requests: TwimlRequests | None = None
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._closing = False
        self._changed = asyncio.Event()
        self._sequence = 0
        self._chunk = 0
        self._sent_ms = 0
        self._playout_task: asyncio.Task[None] | None = None

    # -- the webhook --------------------------------------------------------------------------

    def form(self, status: str = "ringing") -> dict[str, str]:
        """The voice webhook's form parameters (with extras code must not hard-code away)."""
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": self.call_sid,
            "CallStatus": status,
            "Called": self.callee,
            "Caller": self.caller,
            "Direction": "inbound",
            "From": self.caller,
            "To": self.callee,
            "FromCountry": "US",
            "ToCountry": "US",
            **self.extra_form,
        }

    async def dial(self, client: httpx.AsyncClient | None = None) -> TwiML:
        """POST the voice webhook (with the Basic-auth challenge dance) and parse the TwiML."""
        self._requests = None
        self.twiml = parse_twiml(await self._routes(client).webhook(self.form()))
        return self.twiml

    def _routes(self, client: httpx.AsyncClient | None = None) -> TwimlRequests:
        """The call's requests, set up from this caller's settings at its first request."""
        if self._requests is None:
            self._requests = TwimlRequests(
                self.webhook_url,
                self.auth_token,
                self.public_url,
                self.redirect_url,
                self.insecure_local,
                client,
            )
        return self._requests

    # -- the stream ---------------------------------------------------------------------------

    async def connect(
        self,
        *,
        start: bool = True,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        """Open the stream websocket and send ``connected`` (and ``start``)."""
        await self._open_stream(start=start, parameters=parameters)
        self._reader = asyncio.create_task(self._read())

    async def _open_stream(
        self, *, start: bool = True, parameters: Mapping[str, str] | None = None
    ) -> None:
        if self.twiml is None:
            raise CallFailed("dial() first")
        headers = {}
        if self.auth_token:  # over the TwiML's wss:// URL, wherever the stream really goes
            validator = RequestValidator(self.auth_token)
            headers["X-Twilio-Signature"] = validator.compute_signature(self.twiml.stream_url, {})
        try:
            self._ws = await websockets.connect(
                self._routes().stream_target(self.twiml, self.stream_url_override),
                additional_headers=headers,
                max_size=2**20,
            )
        except (OSError, InvalidHandshake) as exc:
            raise CallFailed(f"stream connection refused: {exc}") from None
        self.legs.append(StreamLeg(self.stream_sid, time.perf_counter()))
        await self.send_json({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        if start:
            await self.send_start(parameters if parameters is not None else self.twiml.parameters)

    @property
    def streaming(self) -> bool:
        """A stream is open (False between a lost stream and the next, and after the call)."""
        return bool(self.legs) and self.legs[-1].closed_at is None and not self.closed_by_server

    def resume_gaps_ms(self) -> list[float]:
        """For each new stream: its previous stream closed → its first bot audio (what the
        caller hears as a gap)."""
        return [
            round((leg.first_media_at - before.closed_at) * 1000, 1)
            for before, leg in itertools.pairwise(self.legs)
            if leg.first_media_at is not None and before.closed_at is not None
        ]

    async def send_start(self, parameters: Mapping[str, str]) -> None:
        """The ``start`` frame, carrying the TwiML's parameters as customParameters."""
        self._sequence += 1
        await self.send_json(
            {
                "event": "start",
                "sequenceNumber": str(self._sequence),
                "streamSid": self.stream_sid,
                "start": {
                    "accountSid": self.account_sid,
                    "streamSid": self.stream_sid,
                    "callSid": self.call_sid,
                    "tracks": ["inbound"],
                    "customParameters": dict(parameters),
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
            }
        )

    async def send_json(self, message: Mapping[str, Any]) -> None:
        """Send one raw frame (tests use it for malformed input too)."""
        await self.send_text(json.dumps(message))

    async def send_text(self, text: str | bytes) -> None:
        """Send a raw text (or binary) frame."""
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(text)

    async def send_audio(self, mulaw: bytes, *, pace: Callable[[], Any] | None = None) -> None:
        """Send caller audio as 20 ms ``media`` frames; ``pace`` is awaited between frames
        (e.g. ``lambda: asyncio.sleep(0.02)`` for real time)."""
        for offset in range(0, len(mulaw), FRAME_BYTES):
            await self.send_text(self._media_text(mulaw[offset : offset + FRAME_BYTES]))
            if pace is not None:
                await pace()

    def _media_text(self, frame: bytes) -> str:
        """The next ``media`` message carrying ``frame`` (counts it sent)."""
        self._sequence, self._chunk = self._sequence + 1, self._chunk + 1
        sent_ms, self._sent_ms = self._sent_ms, self._sent_ms + FRAME_MS
        payload = _SILENT_PAYLOAD if frame == _SILENT_FRAME else base64.b64encode(frame).decode()
        return (  # json.dumps of the message, preformatted: the hot path
            f'{{"event": "media", "sequenceNumber": "{self._sequence}", "streamSid": '
            f'"{self.stream_sid}", "media": {{"track": "inbound", "chunk": "{self._chunk}", '
            f'"timestamp": "{sent_ms}", "payload": "{payload}"}}}}'
        )

    async def send_dtmf(self, digits: str) -> None:
        """One ``dtmf`` frame per key."""
        for digit in digits:
            self._sequence += 1
            await self.send_json(
                {
                    "event": "dtmf",
                    "sequenceNumber": str(self._sequence),
                    "streamSid": self.stream_sid,
                    "dtmf": {"track": "inbound_track", "digit": digit},
                }
            )

    async def play(self, ms: float) -> list[str]:
        """Advance bot playback by ``ms``; echoes the marks reached."""
        reached = self.playout.play(ms)
        await self._echo(reached)
        return reached

    async def play_heard(self, ms: float) -> bytes:
        """Advance bot playback by ``ms``; echoes the marks reached, returns the audio heard."""
        heard, reached = self.playout.take(ms)
        await self._echo(reached)
        return heard

    async def play_all(self) -> list[str]:
        """Play everything buffered."""
        return await self.play(self.playout.buffered_bytes / 8 + 1)

    def realtime_playout(self) -> None:
        """Play bot audio in real time from now on (20 ms ticks; ``wait_until`` predicates
        are checked again after each)."""

        async def run() -> None:
            while True:
                await asyncio.sleep(FRAME_MS / 1000)
                await self.play(FRAME_MS)
                self._changed.set()

        self._playout_task = asyncio.create_task(run())

    async def hang_up(self) -> None:
        """Send ``stop`` and close, as when the caller hangs up."""
        self._sequence += 1
        await self.send_json(
            {
                "event": "stop",
                "sequenceNumber": str(self._sequence),
                "streamSid": self.stream_sid,
                "stop": {"accountSid": self.account_sid, "callSid": self.call_sid},
            }
        )
        await self.close()

    def drop_stream(self) -> None:
        """Lose the stream as a network failure would (no close handshake): Twilio's side then
        goes on with the TwiML after ``<Connect>``, the server's sees the socket gone."""
        self._ws.transport.abort()

    async def close(self) -> None:
        """Close the socket and stop background tasks (the caller is gone: no TwiML follows)."""
        self._closing = True
        if self._playout_task is not None:
            self._playout_task.cancel()
        if self._ws is not None:  # the reader reads on: the server's close frame may wait
            await self._ws.close()  # behind audio not read yet (reading pauses when it piles up)
        if self._reader is not None:
            self._reader.cancel()

    async def wait_until(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        """Wait until ``predicate()`` holds, re-checked after each message from the server."""
        async with asyncio.timeout(within):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    def events(self, kind: str) -> list[dict[str, Any]]:
        """Messages received of one ``event`` type."""
        return [m for m in self.messages if m.get("event") == kind]

    # -- receiving ----------------------------------------------------------------------------

    async def _read(self) -> None:
        """Each stream's messages until it closes; then the TwiML after ``<Connect>``."""
        while True:
            with contextlib.suppress(ConnectionClosed):
                async for raw in self._ws:
                    await self._received(json.loads(raw))
            leg = self.legs[-1]
            leg.closed_at, leg.close_code = time.perf_counter(), self._ws.close_code
            self.close_code = leg.close_code
            self._changed.set()
            if self._closing or not await self._follow():
                break
        self.closed_by_server = True
        self._changed.set()

    async def _received(self, message: dict[str, Any]) -> None:
        event = message.get("event")
        if event != "media" or self.keep_audio:
            self.messages.append(message)
        for listener in self.listeners:
            listener(message)
        if event == "media":
            audio = base64.b64decode(message["media"]["payload"])
            self.received_bytes += len(audio)
            if self.keep_audio:
                self.received_audio += audio
            if self.legs[-1].first_media_at is None:
                self.legs[-1].first_media_at = time.perf_counter()
            self.playout.add_audio(audio)
        elif event == "mark":
            await self._echo(self.playout.add_mark(message["mark"]["name"]))
        elif event == "clear":
            self.clears += 1
            await self._echo(self.playout.clear())
        self._changed.set()

    async def _follow(self) -> bool:
        """Run what follows ``<Connect>`` once its stream is over, as Twilio does: True when
        a ``<Redirect>``'s answer connected a new stream; False when the call ends (see
        ``ended_by``)."""
        assert self.twiml is not None
        found = await self._routes().next_stream(self.twiml.then, self.form("in-progress"))
        if isinstance(found, str):
            self.ended_by = found
            return False
        self.twiml = found
        self.playout.clear()  # what the lost stream had queued is never heard
        self.stream_sid, self._sequence, self._chunk, self._sent_ms = _sid("MZ"), 0, 0, 0
        try:
            await self._open_stream()
        except CallFailed as exc:
            self.ended_by = str(exc)
            return False
        return True

    async def _echo(self, marks: list[str]) -> None:
        for name in marks:
            await self.send_json(self._mark_message(name))

    def _mark_message(self, name: str) -> dict[str, Any]:
        """The ``mark`` echo for ``name`` (counts it sent)."""
        self._sequence += 1
        return {
            "event": "mark",
            "sequenceNumber": str(self._sequence),
            "streamSid": self.stream_sid,
            "mark": {"name": name},
        }
