"""The TwiML answer to the voice webhook: ``<Connect><Stream>`` with call parameters."""

from __future__ import annotations

from collections.abc import Mapping

from twilio.twiml.voice_response import Connect, Stream, VoiceResponse

__all__ = ["connect_stream", "hangup_twiml", "stream_url", "transfer_twiml"]

STREAM_PATH = "/webhooks/twilio_media_streams/websocket"


def stream_url(server_url: str) -> str:
    """The ``wss://`` URL Twilio must open, from a normalised ``server_url`` host[:port]."""
    return f"wss://{server_url}{STREAM_PATH}"


def connect_stream(url: str, parameters: Mapping[str, str], redirect: str | None = None) -> str:
    """TwiML that connects the call to our websocket. Without ``redirect`` nothing follows
    ``<Connect>``, so closing the socket ends the call; with it, Twilio then POSTs that URL
    (a resume, ``twilio.resume``)."""
    response = VoiceResponse()
    connect = Connect()
    stream = Stream(url=url)
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)
    connect.append(stream)
    response.append(connect)
    if redirect is not None:
        response.redirect(redirect, method="POST")
    return str(response.to_xml(xml_declaration=True))


def hangup_twiml() -> str:
    """``<Response><Hangup/></Response>``."""
    response = VoiceResponse()
    response.hangup()
    return str(response.to_xml(xml_declaration=False))


def transfer_twiml(number: str) -> str:
    """``<Response><Dial>number</Dial></Response>``: replaces the live TwiML to transfer."""
    response = VoiceResponse()
    response.dial(number)
    return str(response.to_xml(xml_declaration=False))
