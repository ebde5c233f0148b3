"""The inspector's routes, auth, event feed and browser-phone websocket, over real sockets."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest
import websockets
from tests.audio_samples import load_prompt, silence
from tests.fakes.scripted import ScriptedASR, ScriptedAssistant, ScriptedTTS
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from telephonist.call.events import EventKind, KeyPressed
from telephonist.call.settings import CallSettings
from telephonist.config.channel import parse_channel
from telephonist.dialogue.turns import SessionStart, UserText
from telephonist.errors import ConfigError
from telephonist.server.app import create_app
from telephonist.server.inspector import INSPECT_PATH, is_loopback
from telephonist.server.inspector_feed import QUEUE_SIZE
from telephonist.server.runtime import Runtime
from telephonist.simulator.caller import TwilioCaller, TwiML

SPEECH = "agent-pass"
ASSETS = ["inspector.css", "inspector.js", "timeline.js", "phone.js", "phone-worklet.js"]
AUTH = {"username": "inspector", "password": "pa55-word-for-tests"}
BASIC = "Basic " + base64.b64encode(b"inspector:pa55-word-for-tests").decode()


def ws_url(served: Any, path: str) -> str:
    """A ws:// URL on the test server."""
    return served.base_url.replace("http://", "ws://") + path


async def feed_ticket(http: httpx.AsyncClient, served: Any, **kwargs: Any) -> str:
    """A one-time ticket for the event feed."""
    response = await http.post(f"{served.base_url}{INSPECT_PATH}/ticket", **kwargs)
    assert response.status_code == 200, response.text
    return str(response.json()["ticket"])


async def next_message(ws: Any, within: float = 10.0) -> dict[str, Any]:
    """The next JSON feed message."""
    async with asyncio.timeout(within):
        return dict(json.loads(await ws.recv()))


async def events_until(ws: Any, kind: str, within: float = 15.0) -> list[dict[str, Any]]:
    """Feed events up to and including the first of ``kind``."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while not seen or seen[-1]["kind"] != kind:
            message = json.loads(await ws.recv())
            assert message["type"] == "event"
            seen.append(message["event"])
    return seen


def test_loopback_interfaces_are_recognised():
    """localhost, 127.x and ::1 are loopback; 0.0.0.0 and real addresses are not."""
    assert all(map(is_loopback, ["127.0.0.1", "127.0.1.1", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.5", "example.com", ""]))


async def test_routes_absent_without_inspect(serve):
    """Without --inspect the page, assets, ticket, phone and feed routes do not exist."""
    async with serve() as served, httpx.AsyncClient() as http:
        assert (await http.get(f"{served.base_url}{INSPECT_PATH}")).status_code == 404
        assert (
            await http.get(f"{served.base_url}{INSPECT_PATH}/assets/inspector.js")
        ).status_code == 404
        assert (await http.post(f"{served.base_url}{INSPECT_PATH}/ticket")).status_code == 404
        assert (await http.post(f"{served.base_url}{INSPECT_PATH}/phone")).status_code == 404
        with pytest.raises(InvalidStatus):
            await websockets.connect(ws_url(served, f"{INSPECT_PATH}/feed"))


async def test_page_and_assets_on_localhost(serve):
    """On loopback the page and its assets load without auth, with a strict CSP, and only
    for a loopback Host header (no DNS rebinding)."""
    async with serve(inspect=True) as served, httpx.AsyncClient() as http:
        page = await http.get(f"{served.base_url}{INSPECT_PATH}")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "Call the bot" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        for name in ASSETS:
            asset = await http.get(f"{served.base_url}{INSPECT_PATH}/assets/{name}")
            assert asset.status_code == 200, name
            assert asset.content
        missing = await http.get(f"{served.base_url}{INSPECT_PATH}/assets/../app.py")
        assert missing.status_code == 404
        rebound = await http.get(
            f"{served.base_url}{INSPECT_PATH}", headers={"Host": "attacker.example:80"}
        )
        assert rebound.status_code == 403


async def test_public_interface_without_credentials_refuses_to_start(silero):
    """--inspect on 0.0.0.0 without username/password is a ConfigError naming the fix."""
    config = parse_channel(
        {"server_url": "bot.example.com", "asr": {"name": "scripted"}, "tts": {"name": "scripted"}},
        file="credentials.yml",
        environ={},
    )
    runtime = Runtime(
        channel=config,
        settings=CallSettings.from_channel(config, "en"),
        assistant=ScriptedAssistant(),
        asr=ScriptedASR(),
        tts=ScriptedTTS(),
        vad=silero,
    )
    with pytest.raises(ConfigError, match="username and password"):
        create_app(runtime, inspect=True, interface="0.0.0.0")
    create_app(runtime, inspect=True, interface="::1")  # loopback needs none
    create_app(runtime, interface="0.0.0.0")  # nor does a server without the inspector


async def test_public_interface_requires_basic_auth_everywhere(serve):
    """Bound beyond loopback, every inspector route answers 401 without the credentials."""
    async with (
        serve(inspect=True, interface="0.0.0.0", **AUTH) as served,
        httpx.AsyncClient() as http,
    ):
        base = f"{served.base_url}{INSPECT_PATH}"
        auth = httpx.BasicAuth(AUTH["username"], AUTH["password"])
        for method, url in [
            ("GET", base),
            ("GET", f"{base}/assets/inspector.js"),
            ("POST", f"{base}/ticket"),
            ("POST", f"{base}/phone"),
        ]:
            bare = await http.request(method, url)
            assert bare.status_code == 401, url
            assert bare.headers["www-authenticate"].startswith("Basic")
            wrong = await http.request(method, url, auth=httpx.BasicAuth("inspector", "nope"))
            assert wrong.status_code == 401, url
            assert (await http.request(method, url, auth=auth)).status_code == 200, url
        for path in ("feed", "phone"):
            with pytest.raises(InvalidStatus) as refused:
                await websockets.connect(ws_url(served, f"{INSPECT_PATH}/{path}"))
            assert refused.value.response.status_code == 403
        async with websockets.connect(
            ws_url(served, f"{INSPECT_PATH}/feed"), additional_headers={"Authorization": BASIC}
        ) as ws:
            assert (await next_message(ws))["type"] == "snapshot"


async def test_feed_tickets_are_single_use_and_same_origin(serve):
    """A feed ticket opens one websocket once; a foreign Origin is refused even with one."""
    async with serve(inspect=True) as served, httpx.AsyncClient() as http:
        url = ws_url(served, f"{INSPECT_PATH}/feed")
        with pytest.raises(InvalidStatus):
            await websockets.connect(url)
        ticket = await feed_ticket(http, served)
        async with websockets.connect(f"{url}?ticket={ticket}") as ws:
            assert (await next_message(ws))["type"] == "snapshot"
        with pytest.raises(InvalidStatus):
            await websockets.connect(f"{url}?ticket={ticket}")
        ticket = await feed_ticket(http, served)
        with pytest.raises(InvalidStatus):
            await websockets.connect(f"{url}?ticket={ticket}", origin=Origin("http://evil.example"))
        phone_ticket = (await http.post(f"{served.base_url}{INSPECT_PATH}/phone")).json()
        with pytest.raises(InvalidStatus):  # a phone ticket does not open the feed
            await websockets.connect(f"{url}?ticket={phone_ticket['ticket']}")


async def test_feed_sends_snapshot_then_a_simulated_calls_events(serve):
    """A Twilio call's events arrive live, in order; a later browser gets them in the
    snapshot; no secret (stream token, password) ever appears in the feed."""
    async with (
        serve(inspect=True, transcripts=["I would like a table"], **AUTH) as served,
        httpx.AsyncClient() as http,
    ):
        ticket = await feed_ticket(http, served)
        async with websockets.connect(ws_url(served, f"{INSPECT_PATH}/feed?ticket={ticket}")) as ws:
            snapshot = await next_message(ws)
            assert snapshot["type"] == "snapshot" and snapshot["calls"] == []
            caller = await served.connected_call(
                webhook_url=served.webhook.replace(
                    "http://", "http://inspector:pa55-word-for-tests@"
                )
            )
            await caller.play_all()
            await caller.send_audio(load_prompt(SPEECH).mulaw + silence(1.0))
            await served.wait_for_speech(caller, "You said I would like a table")
            await caller.hang_up()
            live = await events_until(ws, "call.ended")
        kinds = [e["kind"] for e in live]
        assert kinds[0] == "call.started"
        assert live[0]["call_id"] == caller.call_sid and live[0]["user_phone"] == caller.caller
        for kind in (
            "speech.started",
            "speech.ended",
            "asr.final",
            "assistant.turn",
            "bot.message",
            "tts.first_byte",
            "turn.latency",
            "audio.playback_done",
        ):
            assert kind in kinds, kind
        assert kinds.index("speech.ended") < kinds.index("asr.final") < kinds.index("turn.latency")
        final = next(e for e in live if e["kind"] == "asr.final")
        assert final["text"] == "I would like a table"
        assert live[-1]["reason"] == "caller hung up"

        ticket = await feed_ticket(http, served, auth=(AUTH["username"], AUTH["password"]))
        async with websockets.connect(ws_url(served, f"{INSPECT_PATH}/feed?ticket={ticket}")) as ws:
            later = await next_message(ws)
        [call] = later["calls"]
        assert call["call_id"] == caller.call_sid and call["caller"] == caller.caller
        assert call["end_reason"] == "caller hung up"
        assert [e["kind"] for e in call["events"]] == kinds
        wire = json.dumps(later) + json.dumps(live)
        assert caller.twiml is not None
        assert caller.twiml.parameters["stream_token"] not in wire
        assert AUTH["password"] not in wire and "stream_token" not in wire


async def test_browser_phone_websocket_speaks_media_streams(serve):
    """A client speaking the Twilio protocol to the phone route (token from the route, no
    signature) is greeted, heard by the assistant and answered, like a phone call."""
    async with (
        serve(
            inspect=True,
            transcripts=["book a table for two"],
            twilio_auth_token="twilio-token-for-tests",
        ) as served,
        httpx.AsyncClient() as http,
    ):
        info = (await http.post(f"{served.base_url}{INSPECT_PATH}/phone")).json()
        assert info["call_sid"].startswith("CAbrowser") and len(info["call_sid"]) == 34
        assert info["parameters"]["call_id"] == info["call_sid"]
        url = ws_url(served, f"{INSPECT_PATH}/phone?ticket={info['ticket']}")
        caller = TwilioCaller(
            "http://unused.invalid/",
            stream_url_override=url,
            call_sid=info["call_sid"],
            stream_sid=info["stream_sid"],
        )
        caller.twiml = TwiML(url, info["parameters"], "")
        await caller.connect()
        await served.wait_for_speech(caller, served.assistant.greeting)
        start = served.assistant.of_type(SessionStart)[0]
        assert start.metadata["call_id"] == info["call_sid"]
        assert start.metadata["user_phone"] == "browser"
        await caller.play_all()
        await caller.send_audio(load_prompt(SPEECH).mulaw + silence(1.0))
        await served.wait_for_speech(caller, "You said book a table for two")
        assert served.assistant.of_type(UserText) == [
            UserText("book a table for two", "speech", 0.9)
        ]
        await caller.send_dtmf("5")
        await served.wait_event(EventKind.DTMF)
        assert served.kinds(KeyPressed)[0].digit == "5"
        await caller.hang_up()


async def test_browser_phone_needs_ticket_and_stream_token(serve):
    """Without a ticket the upgrade is refused; with a ticket but a forged stream token the
    call is refused before the assistant or any provider is contacted."""
    async with serve(inspect=True) as served, httpx.AsyncClient() as http:
        with pytest.raises(InvalidStatus):
            await websockets.connect(ws_url(served, f"{INSPECT_PATH}/phone"))
        info = (await http.post(f"{served.base_url}{INSPECT_PATH}/phone")).json()
        url = ws_url(served, f"{INSPECT_PATH}/phone?ticket={info['ticket']}")
        caller = TwilioCaller(
            "http://unused.invalid/", stream_url_override=url, call_sid=info["call_sid"]
        )
        caller.twiml = TwiML(url, {**info["parameters"], "stream_token": "1.2.3"}, "")
        await caller.connect()
        await caller.wait_until(lambda: caller.closed_by_server)
        assert served.assistant.events == [] and served.asr.streams == []


async def test_feed_that_falls_behind_is_told_and_closed(serve):
    """A browser whose queue overflowed gets a "dropped" notice and a close (so it reloads
    from a snapshot) while publishing never waited for it."""
    async with serve(inspect=True) as served, httpx.AsyncClient() as http:
        ticket = await feed_ticket(http, served)
        async with websockets.connect(ws_url(served, f"{INSPECT_PATH}/feed?ticket={ticket}")) as ws:
            assert (await next_message(ws))["type"] == "snapshot"
            for n in range(QUEUE_SIZE + 10):  # synchronously: the feed cannot drain meanwhile
                served.runtime.events.publish(KeyPressed(call_id="CA1", at=float(n), digit="1"))
            notice = await next_message(ws)
            assert notice == {"type": "dropped", "count": 10}
            async with asyncio.timeout(10):
                await ws.wait_closed()
        ticket = await feed_ticket(http, served)
        async with websockets.connect(ws_url(served, f"{INSPECT_PATH}/feed?ticket={ticket}")) as ws:
            [call] = (await next_message(ws))["calls"]
            assert len(call["events"]) == QUEUE_SIZE + 10
