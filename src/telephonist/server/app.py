"""The Starlette application: routes under ``/webhooks/twilio_media_streams/``, plus
``/health`` and ``/metrics`` (and the inspector's routes when inspecting)."""

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


def create_app(
    runtime: Runtime,
    *,
    extra_routes: list[BaseRoute] | None = None,
    inspect: bool = False,
    interface: str = "127.0.0.1",
) -> Starlette:
    """The ASGI app serving ``runtime``; with ``inspect``, also the inspector for a server
    bound to ``interface`` (raises `ConfigError` if that is public and has no credentials)."""

    async def process_health(request: Request) -> Response:
        if runtime.draining:  # load balancers stop sending calls here
            return JSONResponse(
                {"status": "draining", "active_calls": len(runtime.sessions)}, status_code=503
            )
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
    if inspect:
        from telephonist.server.inspector import inspector_routes

        routes += inspector_routes(runtime, interface)
    app = Starlette(routes=routes)
    app.state.runtime = runtime
    return app
