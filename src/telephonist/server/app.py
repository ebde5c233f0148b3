"""The Starlette application: routes under ``/webhooks/twilio_media_streams/``, plus
``/health`` and ``/metrics``."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from telephonist.server.media_socket import media_socket
from telephonist.server.metrics import CallMetrics
from telephonist.server.runtime import Runtime
from telephonist.server.webhook import health, make_webhook

__all__ = ["BASE_PATH", "create_app"]

BASE_PATH = "/webhooks/twilio_media_streams"


def create_app(runtime: Runtime, *, extra_routes: list[BaseRoute] | None = None) -> Starlette:
    """The ASGI app serving ``runtime``."""

    async def process_health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "active_calls": len(runtime.sessions)})

    async def websocket_endpoint(websocket: WebSocket) -> None:
        await media_socket(websocket, runtime)

    metrics = CallMetrics()
    runtime.events.subscribe(metrics)
    routes: list[BaseRoute] = [
        Route("/health", process_health, methods=["GET"]),
        Route("/metrics", metrics.endpoint, methods=["GET"]),
        Route(f"{BASE_PATH}/", health, methods=["GET"]),
        Route(f"{BASE_PATH}/webhook", make_webhook(runtime), methods=["POST"]),
        WebSocketRoute(f"{BASE_PATH}/websocket", websocket_endpoint),
        *(extra_routes or []),
    ]
    app = Starlette(routes=routes)
    app.state.runtime = runtime
    return app
