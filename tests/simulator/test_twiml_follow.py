"""The simulator runs what follows <Connect> as Twilio does: a <Redirect> (signed for the URL
Twilio would request, sent where a load balancer sends it) and its answer, <Hangup/>."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from tests.fakes.http_app import ServedApp
from twilio.request_validator import RequestValidator

from telephonist.simulator.caller import TwilioCaller
from telephonist.simulator.runner import SimulatedCall
from telephonist.simulator.script import Wait

TOKEN = "simulator-token-1"
PUBLIC = "https://bot.example.com"


@dataclass
class Instance:
    """A stand-in server: its stream greets once and closes (``drop``) or stays open."""

    name: str
    then: str = '<Redirect method="POST">voice?again=1</Redirect>'
    drop: bool = True
    requests: list[dict[str, Any]] = field(default_factory=list)
    starts: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> Starlette:
        """``POST /voice`` answers <Connect><Stream> then ``then``; ``WS /stream``."""

        async def voice(request: Request) -> Response:
            form = dict(await request.form())
            signature = request.headers.get("x-twilio-signature", "")
            url = f"{PUBLIC}{request.url.path}" + (
                f"?{request.url.query}" if request.url.query else ""
            )
            valid = RequestValidator(TOKEN).validate(url, form, signature)
            self.requests.append({"url": url, "form": form, "signed": valid})
            stream = "wss://bot.example.com/stream"
            xml = (
                f'<Response><Connect><Stream url="{stream}"><Parameter name="by" '
                f'value="{self.name}"/></Stream></Connect>{self.then}</Response>'
            )
            return Response(xml, media_type="text/xml")

        async def stream(websocket: WebSocket) -> None:
            await websocket.accept()
            await websocket.receive_json()  # connected
            start = await websocket.receive_json()
            self.starts.append(start)
            payload = base64.b64encode(b"\x00" * 160).decode()
            await websocket.send_json(
                {"event": "media", "streamSid": start["streamSid"], "media": {"payload": payload}}
            )
            if self.drop:
                await websocket.close()
                return
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass

        return Starlette(
            routes=[Route("/voice", voice, methods=["POST"]), WebSocketRoute("/stream", stream)]
        )


async def test_a_redirect_goes_to_the_balanced_instance_and_connects_there():
    """Stream on A closes; the relative redirect is signed for the public URL and sent to B,
    whose stream opens on B; B's <Hangup/> ends the call."""
    a, b = Instance("A"), Instance("B", then="<Hangup/>")
    async with ServedApp(a.app()) as on_a, ServedApp(b.app()) as on_b:
        caller = TwilioCaller(
            f"{on_a.url}/voice",
            auth_token=TOKEN,
            public_url=f"{PUBLIC}/voice",
            redirect_url=on_b.url,
        )
        await caller.dial()
        await caller.connect()
        await caller.wait_until(lambda: caller.closed_by_server)
    assert caller.ended_by == "<Hangup/>" and len(caller.legs) == 2
    assert [r["url"] for r in a.requests] == [f"{PUBLIC}/voice"]
    assert [r["url"] for r in b.requests] == [f"{PUBLIC}/voice?again=1"]
    assert all(r["signed"] for r in a.requests + b.requests)
    assert b.requests[0]["form"]["CallStatus"] == "in-progress"
    assert b.requests[0]["form"]["CallSid"] == caller.call_sid
    first, second = a.starts[0]["start"], b.starts[0]["start"]
    assert (first["customParameters"]["by"], second["customParameters"]["by"]) == ("A", "B")
    assert first["callSid"] == second["callSid"] and first["streamSid"] != second["streamSid"]
    assert b.starts[0]["sequenceNumber"] == "1"
    assert len(caller.resume_gaps_ms()) == 1


async def test_nothing_after_connect_ends_the_call_and_the_report_counts_resumes():
    """A simulated call reports the resume and its gap; a TwiML with nothing after <Connect>
    ends the call when its stream closes."""
    a, b = Instance("A"), Instance("B", then="")
    async with ServedApp(a.app()) as on_a, ServedApp(b.app()) as on_b:
        caller = TwilioCaller(
            f"{on_a.url}/voice", public_url=f"{PUBLIC}/voice", redirect_url=on_b.url
        )
        report = await SimulatedCall(caller, speed=5.0).run([Wait(0.2)])
    assert caller.ended_by == "end of TwiML"
    assert "resumed 1x" in report.outcome and len(report.resume_gaps_ms) == 1
    assert report.as_dict()["resume_gaps_ms"] == report.resume_gaps_ms


async def test_the_caller_hanging_up_follows_nothing():
    """A caller who hangs up ends the call: no redirect is requested."""
    a = Instance("A", drop=False)
    async with ServedApp(a.app()) as on_a:
        caller = TwilioCaller(f"{on_a.url}/voice", public_url=f"{PUBLIC}/voice")
        await caller.dial()
        await caller.connect()
        await caller.wait_until(lambda: caller.legs[0].first_media_at is not None)
        await caller.hang_up()
    assert len(a.requests) == 1 and caller.ended_by is None
