"""A webhook server that misbehaves towards Twilio: no TwiML, or a stream that drops at once."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

__all__ = ["bad_twilio_app"]


def bad_twilio_app() -> Starlette:
    """``/text`` answers plain text, ``/html`` XML that is not TwiML, ``/drop`` TwiML whose
    stream accepts and closes with 1011 before saying anything."""

    async def text(request: Request) -> Response:
        return PlainTextResponse("OK")

    async def html(request: Request) -> Response:
        return Response("<html><body>hi</body></html>", media_type="text/html")

    async def drop(request: Request) -> Response:
        url = f"wss://{request.url.netloc}/stream"
        return Response(
            f'<Response><Connect><Stream url="{url}"/></Connect></Response>', media_type="text/xml"
        )

    async def stream(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()  # connected
        await websocket.close(code=1011)

    return Starlette(
        routes=[
            Route("/text", text, methods=["POST"]),
            Route("/html", html, methods=["POST"]),
            Route("/drop", drop, methods=["POST"]),
            WebSocketRoute("/stream", stream),
        ]
    )
