"""`TwilioCaller`: behaves towards a Media Streams server exactly as Twilio does.

It POSTs the voice webhook with realistic form parameters (signed like Twilio when given the
auth token, with the Basic-auth 401 dance when the URL carries ``user:pass@``), parses the
TwiML, opens the ``<Stream>`` websocket (signed), sends ``connected``/``start`` with the
``<Parameter>``s, streams caller audio as 20 ms mu-law ``media`` frames, and plays the bot's
audio out of a `Playout` buffer, echoing marks when playback reaches them and at once on
``clear``. Playback advances only when told (``play``), or in real time with
``realtime_playout()``, so tests decide exactly what the caller has heard.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import websockets
from twilio.request_validator import RequestValidator
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from telephonist.audio.formats import FRAME_BYTES, FRAME_MS
from telephonist.twilio.playout import Playout

__all__ = ["CallFailed", "TwiML", "TwilioCaller"]


class CallFailed(Exception):
    """The server refused or broke the call (no TwiML, auth refused, socket closed early)."""


@dataclass(frozen=True)
class TwiML:
    """What the webhook answered: the stream URL and its parameters."""

    stream_url: str
    parameters: Mapping[str, str]
    xml: str


_SILENT_FRAME = b"\xff" * FRAME_BYTES
_SILENT_PAYLOAD = base64.b64encode(_SILENT_FRAME).decode("ascii")


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def _local_stream_url(stream_url: str, public_url: str, local_url: str) -> str | None:
    """The stream URL on the local server when it names the public host (ws:// for a local
    http:// webhook, wss:// for https://); None when it names another host."""
    stream, public, local = urlsplit(stream_url), urlsplit(public_url), urlsplit(local_url)
    if stream.hostname != public.hostname:
        return None
    scheme = "wss" if local.scheme == "https" else "ws"
    return urlunsplit((scheme, local.netloc, stream.path, stream.query, ""))


def parse_twiml(xml: str) -> TwiML:
    """The ``<Connect><Stream>`` of a TwiML document."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise CallFailed(f"webhook answer is not XML: {exc}") from None
    stream = root.find("./Connect/Stream")
    if root.tag != "Response" or stream is None or not stream.get("url"):
        raise CallFailed("TwiML has no <Response><Connect><Stream url=...>")
    params = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
    return TwiML(stream_url=stream.get("url", ""), parameters=params, xml=xml)


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
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._sequence = 0
        self._chunk = 0
        self._sent_ms = 0
        self._playout_task: asyncio.Task[None] | None = None

    # -- the webhook --------------------------------------------------------------------------

    def form(self) -> dict[str, str]:
        """The voice webhook's form parameters (with extras code must not hard-code away)."""
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": self.call_sid,
            "CallStatus": "ringing",
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
        parts = urlsplit(self.webhook_url)
        credentials = None
        if parts.username is not None:
            credentials = (parts.username, parts.password or "")
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        form = self.form()
        headers = {"User-Agent": "TwilioProxy/1.1", "I-Twilio-Idempotency-Token": _sid("")}
        if self.auth_token:  # Twilio signs the configured URL without its credentials
            headers["X-Twilio-Signature"] = RequestValidator(self.auth_token).compute_signature(
                _without_credentials(self.public_url) if self.public_url else url, form
            )
        async with contextlib.AsyncExitStack() as stack:
            http = (
                client
                if client is not None
                else await stack.enter_async_context(httpx.AsyncClient(timeout=15))
            )
            try:
                response = await http.post(url, data=form, headers=headers)
                if (
                    response.status_code == 401
                    and credentials is not None
                    and response.headers.get("www-authenticate", "").lower().startswith("basic")
                ):
                    response = await http.post(
                        url, data=form, headers=headers, auth=httpx.BasicAuth(*credentials)
                    )
            except httpx.HTTPError as exc:
                raise CallFailed(f"webhook unreachable: {exc!r}") from None
        if response.status_code != 200:
            raise CallFailed(f"webhook answered HTTP {response.status_code}: {response.text[:200]}")
        self.twiml = parse_twiml(response.text)
        if self.public_url and self.stream_url_override is None:
            self.stream_url_override = _local_stream_url(
                self.twiml.stream_url, self.public_url, url
            )
        return self.twiml

    # -- the stream ---------------------------------------------------------------------------

    async def connect(
        self,
        *,
        start: bool = True,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        """Open the stream websocket and send ``connected`` (and ``start``)."""
        if self.twiml is None:
            raise CallFailed("dial() first")
        headers = {}
        if self.auth_token:
            headers["X-Twilio-Signature"] = RequestValidator(self.auth_token).compute_signature(
                self.twiml.stream_url, {}
            )
        try:
            self._ws = await websockets.connect(
                self.stream_url_override or self.twiml.stream_url,
                additional_headers=headers,
                max_size=2**20,
            )
        except (OSError, InvalidHandshake) as exc:
            raise CallFailed(f"stream connection refused: {exc}") from None
        self._reader = asyncio.create_task(self._read())
        await self.send_json({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        if start:
            await self.send_start(parameters if parameters is not None else self.twiml.parameters)

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
            frame = mulaw[offset : offset + FRAME_BYTES]
            self._sequence += 1
            self._chunk += 1
            payload = (
                _SILENT_PAYLOAD
                if frame == _SILENT_FRAME
                else base64.b64encode(frame).decode("ascii")
            )
            await self.send_text(  # json.dumps of the message, preformatted: the hot path
                f'{{"event": "media", "sequenceNumber": "{self._sequence}", "streamSid": '
                f'"{self.stream_sid}", "media": {{"track": "inbound", "chunk": "{self._chunk}", '
                f'"timestamp": "{self._sent_ms}", "payload": "{payload}"}}}}'
            )
            self._sent_ms += FRAME_MS
            if pace is not None:
                await pace()

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
        """Play bot audio in real time from now on (20 ms ticks)."""

        async def run() -> None:
            while True:
                await asyncio.sleep(FRAME_MS / 1000)
                await self.play(FRAME_MS)

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

    async def close(self) -> None:
        """Close the socket and stop background tasks."""
        for task in (self._playout_task, self._reader):
            if task is not None:
                task.cancel()
        if self._ws is not None:
            await self._ws.close()

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
        try:
            async for raw in self._ws:
                message = json.loads(raw)
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
                    self.playout.add_audio(audio)
                elif event == "mark":
                    await self._echo(self.playout.add_mark(message["mark"]["name"]))
                elif event == "clear":
                    self.clears += 1
                    await self._echo(self.playout.clear())
                self._changed.set()
        except ConnectionClosed:
            pass
        self.close_code = self._ws.close_code
        self.closed_by_server = True
        self._changed.set()

    async def _echo(self, marks: list[str]) -> None:
        for name in marks:
            self._sequence += 1
            await self.send_json(
                {
                    "event": "mark",
                    "sequenceNumber": str(self._sequence),
                    "streamSid": self.stream_sid,
                    "mark": {"name": name},
                }
            )
