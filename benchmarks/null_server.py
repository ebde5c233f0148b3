"""The cheapest Media Streams server that still answers turns: to measure the load generator
alone (``python benchmarks/load.py --server null``).

It answers the webhook with TwiML, accepts the stream, and when a silent frame follows
speech it sends 4 s of audio in one ``media`` message plus a ``mark``; no VAD, no ASR, no
session. Run: ``python benchmarks/null_server.py PORT``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from telephonist.server.serve import bound_socket, uvicorn_server

SILENT = base64.b64encode(b"\xff" * 160).decode()
REPLY = base64.b64encode(b"\x10" * 32000).decode()  # 4 s


async def webhook(request: Request) -> Response:
    url = f"wss://{request.url.netloc}/webhooks/twilio_media_streams/websocket"
    return Response(
        f'<Response><Connect><Stream url="{url}"/></Connect></Response>', media_type="text/xml"
    )


async def stream(websocket: WebSocket) -> None:
    await websocket.accept()
    speaking = False
    sid = ""
    try:
        while True:
            message = json.loads(await websocket.receive_text())
            event = message.get("event")
            if event == "start":
                sid = message["streamSid"]
            elif event == "media":
                silent = message["media"]["payload"] == SILENT
                if not silent:
                    speaking = True
                elif speaking:
                    speaking = False
                    await websocket.send_text(
                        json.dumps(
                            {"event": "media", "streamSid": sid, "media": {"payload": REPLY}}
                        )
                    )
                    await websocket.send_text(
                        json.dumps({"event": "mark", "streamSid": sid, "mark": {"name": "end"}})
                    )
            elif event == "stop":
                break
    except WebSocketDisconnect:
        pass


async def main(port: int) -> None:
    sock = bound_socket("127.0.0.1", port)
    app = Starlette(
        routes=[
            Route("/webhooks/twilio_media_streams/webhook", webhook, methods=["POST"]),
            WebSocketRoute("/webhooks/twilio_media_streams/websocket", stream),
        ]
    )
    server = uvicorn_server(app)
    print(f"ready {sock.getsockname()[1]}", flush=True)
    await server.serve(sockets=[sock])


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
