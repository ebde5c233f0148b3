"""The voice webhook: Twilio POSTs the call, we answer TwiML that connects its audio to our
websocket with the call's parameters and a one-time stream token."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from telephonist.server.basic_auth import BasicAuth
from telephonist.server.runtime import Runtime
from telephonist.twilio.signature import public_url
from telephonist.twilio.twiml import connect_stream, stream_url

__all__ = ["health", "make_webhook"]

log = logging.getLogger(__name__)


async def health(request: Request) -> Response:
    """``{"status": "ok"}``: the channel is up (no auth, as Rasa)."""
    return JSONResponse({"status": "ok"})


def make_webhook(runtime: Runtime) -> Callable[[Request], Awaitable[Response]]:
    """The POST handler for ``/webhooks/twilio_media_streams/webhook``."""
    channel = runtime.channel
    auth = (
        BasicAuth(channel.username, channel.password)
        if channel.username and channel.password
        else None
    )

    async def webhook(request: Request) -> Response:
        if runtime.draining:  # Twilio then tries the number's fallback URL (another instance)
            return PlainTextResponse(
                "Shutting down: not taking new calls.",
                status_code=503,
                headers={"Retry-After": "30"},
            )
        if auth is not None and (refusal := auth.refuse(request)) is not None:
            return refusal
        form = await request.form()
        if runtime.signatures is not None:
            url = public_url(
                request.url.scheme,
                request.headers.get("host", ""),
                request.url.path,
                request.url.query,
                request.headers,
            )
            if not runtime.signatures.valid([url], form, request.headers.get("x-twilio-signature")):
                log.warning("webhook.bad_signature", extra={"url": url})
                return PlainTextResponse("Invalid Twilio signature.", status_code=403)
        call_sid = form.get("CallSid")
        if not isinstance(call_sid, str) or not call_sid:
            return PlainTextResponse("Missing form field CallSid.", status_code=400)
        assert runtime.tokens is not None
        parameters = {
            "call_id": call_sid,
            "user_phone": str(form.get("From", "")),
            "bot_phone": str(form.get("To", "")),
            "direction": str(form.get("Direction", "")),
            "stream_token": runtime.tokens.issue(call_sid),
        }
        if runtime.prewarmer is not None and (auth is not None or runtime.signatures is not None):
            runtime.prewarmer.start(call_sid)  # only for callers who proved who they are
        twiml = connect_stream(stream_url(channel.server_url), parameters)
        return Response(twiml, media_type="text/xml")

    return webhook
