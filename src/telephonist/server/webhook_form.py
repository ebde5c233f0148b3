"""The voice webhook's body, read within bounds.

Twilio posts a small ``application/x-www-form-urlencoded`` form (about 1 kB). Anything else
(a multipart body with file parts, an endless body) is refused before it is parsed or
spooled, with a 4xx status that names the problem and echoes none of it.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.datastructures import FormData, UploadFile
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

__all__ = ["MAX_FORM_BYTES", "read_form"]

MAX_FORM_BYTES = 64 * 1024
"""A Twilio voice webhook body is about 1 kB; its TwiML limit is 64 kB, so is ours."""
MAX_FIELDS = 200
_FORM = "application/x-www-form-urlencoded"


async def read_form(request: Request) -> FormData | Response:
    """The posted form, or the response refusing it (400 for another content type or a
    malformed body, 413 for one over `MAX_FORM_BYTES`)."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != _FORM:
        return PlainTextResponse(f"The webhook takes a {_FORM} form.", status_code=400)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        return _too_large()
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                return _too_large()
    except ClientDisconnect:  # gone, or cut off by the request deadline: nobody to answer
        return PlainTextResponse("Incomplete request.", status_code=400)
    try:
        pairs = parse_qsl(
            body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FIELDS
        )
    except ValueError:
        return PlainTextResponse(f"More than {MAX_FIELDS} form fields.", status_code=400)
    fields: list[tuple[str, str | UploadFile]] = list(pairs)
    return FormData(fields)


def _too_large() -> Response:
    return PlainTextResponse(f"The form exceeds {MAX_FORM_BYTES} bytes.", status_code=413)
