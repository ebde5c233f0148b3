"""The voice webhook: Twilio POSTs the call, we answer TwiML that connects its audio to our
websocket with the call's parameters and a one-time stream token."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from telephonist.server.basic_auth import BasicAuth
from telephonist.server.runtime import Runtime
from telephonist.server.webhook_form import read_form
from telephonist.twilio.messages import MAX_SID_CHARS
from telephonist.twilio.signature import webhook_urls
from telephonist.twilio.twiml import connect_stream, hangup_twiml, stream_url

__all__ = ["health", "make_webhook"]

log = logging.getLogger(__name__)


async def health(request: Request) -> Response:
    """``{"status": "ok"}``: the channel is up (no auth, as Rasa)."""
    return JSONResponse({"status": "ok"})


def _unavailable(text: str) -> Response:
    """503: Twilio then tries the number's fallback URL (another instance)."""
    return PlainTextResponse(text, status_code=503, headers={"Retry-After": "30"})


def _replayed(runtime: Runtime, call_sid: str, form: FormData) -> bool:
    """A webhook for a call whose stream already started (live or over) is a replay: Twilio
    asks once per call and retries only when no TwiML reached it, before any stream. This is
    the one place that decides it (a signed resume redirect would be let through here)."""
    assert runtime.tokens is not None
    return runtime.tokens.streamed(call_sid)


def make_webhook(runtime: Runtime) -> Callable[[Request], Awaitable[Response]]:
    """The POST handler for ``/webhooks/twilio_media_streams/webhook``."""
    channel = runtime.channel
    auth = (
        BasicAuth(channel.username, channel.password)
        if channel.username and channel.password
        else None
    )

    async def webhook(request: Request) -> Response:
        if runtime.draining:
            return _unavailable("Shutting down: not taking new calls.")
        assert runtime.tokens is not None
        if len(runtime.sessions) + runtime.tokens.pending() >= channel.limits.max_calls:
            log.warning("webhook.busy: %d calls (limits.max_calls)", channel.limits.max_calls)
            return _unavailable("At capacity: not taking new calls.")
        if auth is not None and (refusal := auth.refuse(request)) is not None:
            return refusal
        form = await read_form(request)
        if isinstance(form, Response):
            return form
        if runtime.signatures is not None:
            urls = webhook_urls(channel.server_url, request.url.path, request.url.query)
            if not runtime.signatures.valid(urls, form, request.headers.get("x-twilio-signature")):
                log.warning("webhook.bad_signature", extra={"url": urls[0]})
                return PlainTextResponse("Invalid Twilio signature.", status_code=403)
        call_sid = form.get("CallSid")
        if not isinstance(call_sid, str) or not 0 < len(call_sid) <= MAX_SID_CHARS:
            return PlainTextResponse("Missing or malformed form field CallSid.", status_code=400)
        if _replayed(runtime, call_sid, form):
            log.warning(
                "webhook.replayed: the call's stream already started; hanging up",
                extra={"call_id": call_sid},
            )
            return Response(hangup_twiml(), media_type="text/xml")
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
