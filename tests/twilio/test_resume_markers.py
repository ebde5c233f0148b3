"""Resume markers and the numbered stream tokens of a resumed call (pure)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from telephonist.twilio.resume import ResumeMarkers
from telephonist.twilio.token import StreamTokens
from telephonist.twilio.twiml import connect_stream

SECRET = b"k" * 40


def test_a_marker_names_its_call_stream_and_token_and_nothing_else():
    """Read back only for its CallSid; a changed stream, nonce or signature is refused."""
    markers = ResumeMarkers(SECRET)
    marker = markers.marker("CA1", 2, "nonce-1")
    assert markers.read("CA1", marker) == (2, "nonce-1")
    assert markers.read("CA2", marker) is None
    number, nonce, signature = marker.split(".")
    for forged in (
        f"3.{nonce}.{signature}",
        f"{number}.nonce-2.{signature}",
        f"{number}.{nonce}.{signature[:-2]}AA",
        "",
        "2",
        "x.y.z",
        f"99999.{nonce}.{signature}",
    ):
        assert markers.read("CA1", forged) is None
    assert ResumeMarkers(b"j" * 40).read("CA1", marker) is None
    assert "k" * 10 not in repr(markers)


def test_a_stream_tokens_signature_never_passes_for_a_marker():
    """Markers are signed with a key of their own: a token's signature is no marker."""
    tokens = StreamTokens(SECRET, 60, lambda: 0.0)
    expiry, nonce, signature = tokens.issue("CA1").split(".")
    assert ResumeMarkers(SECRET).read(expiry, f"0.{nonce}.{signature}") is None


def test_numbered_tokens_start_each_stream_once_and_in_order():
    """Stream n's token carries its number (signed); after stream n started here, no token
    of n or an earlier stream is accepted, and the call counts as streamed."""
    tokens = StreamTokens(SECRET, 60, lambda: 0.0)
    first, second = tokens.issue("CA1"), tokens.issue("CA1", 1)
    assert (StreamTokens.stream_of(first), StreamTokens.stream_of(second)) == (0, 1)
    assert StreamTokens.nonce_of(second) == second.split(".")[1]
    assert tokens.redeem("CA1", first) is None and tokens.latest_stream("CA1") == 0
    tampered = second.replace(".1.", ".2.")
    assert tokens.redeem("CA1", tampered) == "stream token does not match this call"
    assert tokens.redeem("CA1", second) is None and tokens.latest_stream("CA1") == 1
    assert tokens.redeem("CA1", tokens.issue("CA1", 1)) == "this stream already started"
    assert tokens.redeem("CA1", tokens.issue("CA1")) == "this call already streamed"
    assert tokens.redeem("CA1", tokens.issue("CA1", 2)) is None
    assert tokens.streamed("CA1")


def test_twiml_with_a_redirect_after_connect():
    """The redirect follows <Connect>, relative to the webhook, POSTed."""
    xml = connect_stream("wss://h/ws", {"call_id": "CA1"}, "webhook?resume=0.n.s")
    root = ET.fromstring(xml)
    assert [child.tag for child in root] == ["Connect", "Redirect"]
    redirect = root.find("Redirect")
    assert redirect is not None and redirect.text == "webhook?resume=0.n.s"
    assert redirect.get("method") == "POST"
