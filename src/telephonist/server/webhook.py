"""The voice webhook: Twilio POSTs the call, we answer TwiML that connects its audio to our
websocket with the call's parameters and a one-time stream token. With ``resume`` on, the
TwiML goes on with a redirect back here, and that redirect (``?resume=<marker>``) gets the
call a new stream when the last one was lost (``server.resume``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from telephonist.server.basic_auth import BasicAuth
from telephonist.server.replay import started_anywhere
from telephonist.server.runtime import Runtime
from telephonist.server.webhook_form import read_form
from telephonist.twilio.messages import MAX_SID_CHARS
from telephonist.twilio.resume import RESUME_QUERY
from telephonist.twilio.signature import webhook_urls
from telephonist.twilio.token import StreamTokens
from telephonist.twilio.twiml import connect_stream, hangup_twiml, stream_url

__all__ = ["health", "make_webhook"]

log = logging.getLogger(__name__)


async def health(request: Request) -> Response:
    """``{"status": "ok"}``: the channel is up (no auth, as Rasa)."""
    return JSONResponse({"status": "ok"})


def _unavailable(text: str) -> Response:
    """503: Twilio then tries the number's fallback URL (another instance)."""
    return PlainTextResponse(text, status_code=503, headers={"Retry-After": "30"})


async def _replayed(runtime: Runtime, call_sid: str, resume: tuple[int, str] | None) -> bool:
    """A webhook for a call whose stream already started (live or over), here or on another
    instance sharing the store, is a replay (``server.replay``). This is the one place that
    decides it: a redirect with a valid resume marker for this call is let through, and the
    shared ledger then decides whether it resumes (``server.resume``)."""
    assert runtime.tokens is not None
    if resume is not None:
        return False
    if runtime.tokens.streamed(call_sid):
        return True
    return runtime.ledger is not None and await started_anywhere(runtime.ledger, call_sid)


def _hang_up(event: str, call_sid: str, why: str) -> Response:
    log.warning("%s: %s; hanging up", event, why, extra={"call_id": call_sid})
    return Response(hangup_twiml(), media_type="text/xml")


async def _next_stream(runtime: Runtime, call_sid: str, request: Request) -> int | Response:
    """The number of the stream to connect (0, or the next after a lost one), or the
    ``<Hangup/>`` for a replay, a forged marker or a redirect that must not resume."""
    marker = request.query_params.get(RESUME_QUERY)
    resume = None
    if marker is not None:
        if (
            runtime.resumes is None
            or (resume := runtime.resumes.markers.read(call_sid, marker)) is None
        ):
            return _hang_up("webhook.bad_resume_marker", call_sid, "not a redirect of ours")
    if await _replayed(runtime, call_sid, resume):
        return _hang_up("webhook.replayed", call_sid, "the call's stream already started")
    if resume is None:
        return 0
    assert runtime.resumes is not None
    stream, nonce = resume
    refusal = await runtime.resumes.take(call_sid, stream, nonce)
    if refusal is not None:
        return _hang_up("webhook.not_resumed", call_sid, refusal)
    log.info(
        "call.resuming: stream %d was lost; connecting stream %d",
        stream,
        stream + 1,
        extra={"call_id": call_sid},
    )
    return stream + 1


def make_webhook(runtime: Runtime) -> Callable[[Request], Awaitable[Response]]:
    """The POST handler for ``/webhooks/twilio_media_streams/webhook``."""
    channel = runtime.channel
    auth = (
        BasicAuth(channel.username, channel.password)
        if channel.username and channel.password
        else None
    )

    async def webhook(request: Request) -> Response:
        # A resume redirect is a call already in progress coming back after its stream was
        # lost: neither a drain nor max_calls turns it away (a 503 would end it: Twilio's
        # fallback request carries no marker and is a replay). Its marker, the signature and
        # the per-call cap are checked below as ever.
        assert runtime.tokens is not None
        tokens = runtime.tokens
        if RESUME_QUERY not in request.query_params:
            if runtime.draining:
                return _unavailable("Shutting down: not taking new calls.")
            if len(runtime.sessions) + tokens.pending() >= channel.limits.max_calls:
                await runtime.settle_pending()  # some may have streamed on another worker
            if len(runtime.sessions) + tokens.pending() >= channel.limits.max_calls:
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
        stream = await _next_stream(runtime, call_sid, request)
        if isinstance(stream, Response):
            return stream
        token = runtime.tokens.issue(call_sid, stream)
        log.info("call.answered: stream %d", stream, extra={"call_id": call_sid})
        parameters = {
            "call_id": call_sid,
            "user_phone": str(form.get("From", "")),
            "bot_phone": str(form.get("To", "")),
            "direction": str(form.get("Direction", "")),
            "stream_token": token,
        }
        if runtime.prewarmer is not None and (auth is not None or runtime.signatures is not None):
            runtime.prewarmer.start(call_sid)  # only for callers who proved who they are
        redirect = None
        if runtime.resumes is not None:
            redirect = runtime.resumes.redirect(call_sid, stream, StreamTokens.nonce_of(token))
        twiml = connect_stream(stream_url(channel.server_url), parameters, redirect)
        return Response(twiml, media_type="text/xml")

    return webhook
