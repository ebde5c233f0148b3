"""TwiML as Twilio reads it for a Media Streams call: ``<Connect><Stream>`` with its
``<Parameter>``s, then what follows ``<Connect>`` (``<Redirect>``, ``<Hangup/>``), which Twilio
runs once the stream has closed; and where each request really goes when the simulator
stands in for a public host (``--public-url``) or a load balancer (``--redirect-to``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

__all__ = [
    "CallFailed",
    "Hangup",
    "Redirect",
    "Then",
    "TwiML",
    "parse_document",
    "parse_twiml",
    "rebase",
    "without_credentials",
]


class CallFailed(Exception):
    """The server refused or broke the call (no TwiML, auth refused, socket closed early)."""


@dataclass(frozen=True)
class Redirect:
    """``<Redirect>``: fetch the next TwiML from ``url`` (resolved against the document's)."""

    url: str
    method: str = "POST"


@dataclass(frozen=True)
class Hangup:
    """``<Hangup/>``: end the call."""


Then = Redirect | Hangup


@dataclass(frozen=True)
class TwiML:
    """What the webhook answered: the stream URL and its parameters, and the verbs Twilio
    runs after ``<Connect>`` once the stream is over (nothing: the call ends)."""

    stream_url: str
    parameters: Mapping[str, str]
    xml: str
    then: tuple[Then, ...] = ()


def parse_document(xml: str) -> TwiML | tuple[Then, ...]:
    """A TwiML document: its ``<Connect><Stream>`` (with the verbs after it), or, for one
    without, its ``<Redirect>``/``<Hangup/>`` verbs. Verbs a Media Streams call does not use
    (``<Say>``, ``<Pause>``...) are passed over."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise CallFailed(f"webhook answer is not XML: {exc}") from None
    if root.tag != "Response":
        raise CallFailed("TwiML has no <Response><Connect><Stream url=...>")
    stream: TwiML | None = None
    then: list[Then] = []
    for verb in root:
        if verb.tag == "Connect" and stream is None:
            found = verb.find("Stream")
            if found is None or not found.get("url"):
                raise CallFailed("TwiML has no <Response><Connect><Stream url=...>")
            params = {p.get("name", ""): p.get("value", "") for p in found.findall("Parameter")}
            stream = TwiML(found.get("url", ""), params, xml)
        elif verb.tag == "Redirect" and (verb.text or "").strip():
            then.append(Redirect((verb.text or "").strip(), verb.get("method", "POST").upper()))
        elif verb.tag == "Hangup":
            then.append(Hangup())
    if stream is None:
        return tuple(then)
    return TwiML(stream.stream_url, stream.parameters, xml, tuple(then))


def parse_twiml(xml: str) -> TwiML:
    """The ``<Connect><Stream>`` of a TwiML document (a `CallFailed` without one)."""
    document = parse_document(xml)
    if isinstance(document, TwiML):
        return document
    if document and isinstance(document[0], Hangup):
        raise CallFailed("the webhook answered <Hangup/>")
    raise CallFailed("TwiML has no <Response><Connect><Stream url=...>")


def without_credentials(url: str) -> str:
    """``url`` without ``user:pass@`` (what Twilio signs)."""
    parts = urlsplit(url)
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def rebase(url: str, base: str, *, websocket: bool = False) -> str:
    """``url``'s path and query on ``base``'s scheme and host (``ws``/``wss`` for a
    ``websocket``, matching ``base``'s http/https); ``url`` may be relative to ``base``."""
    target, where = urlsplit(urljoin(base, url)), urlsplit(base)
    scheme = where.scheme
    if websocket:
        scheme = "wss" if scheme in ("https", "wss") else "ws"
    return urlunsplit((scheme, where.netloc, target.path, target.query, ""))
