"""Signatures (Twilio's documented test vectors), stream tokens, TwiML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from telephonist.twilio.signature import SignatureChecker, webhook_urls
from telephonist.twilio.token import STREAMED_CALL_MEMORY_S, StreamTokens
from telephonist.twilio.twiml import connect_stream, hangup_twiml, stream_url, transfer_twiml


def test_signature_matches_twilios_documented_vector():
    """The example from Twilio's security docs validates, and a changed param does not."""
    checker = SignatureChecker("12345")
    url = "https://example.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675310",
        "Digits": "1234",
        "From": "+14158675310",
        "To": "+18005551212",
    }
    assert checker.valid([url], params, "L/OH5YylLD5NRKLltdqwSvS0BnU=")
    assert not checker.valid([url], {**params, "Digits": "1235"}, "L/OH5YylLD5NRKLltdqwSvS0BnU=")
    assert not checker.valid([url], params, None)
    assert "12345" not in repr(checker)


def test_websocket_signature_vector_and_trailing_slash():
    """wss://example.com/media signs to the documented value, with or without a slash."""
    checker = SignatureChecker("12345")
    assert checker.valid_websocket("wss://example.com/media", "7PR3qMkpDyEJtMrVOY/LDyNq8J8=")
    assert checker.valid_websocket("wss://example.com/media/", "7PR3qMkpDyEJtMrVOY/LDyNq8J8=")
    assert not checker.valid_websocket("wss://example.com/other", "7PR3qMkpDyEJtMrVOY/LDyNq8J8=")


def test_webhook_urls_are_the_configured_host_over_either_scheme():
    """The signed URL is server_url's, with the request's path and query; never a header's."""
    assert webhook_urls("bot.example.com", "/hook", "a=1") == [
        "https://bot.example.com/hook?a=1",
        "http://bot.example.com/hook?a=1",
    ]
    assert webhook_urls("h:8443/pre", "/hook", "") == [
        "https://h:8443/pre/hook",
        "http://h:8443/pre/hook",
    ]


def test_a_call_streams_once_and_is_remembered():
    """Two tokens of one call (a retried webhook): the first stream wins, the second is
    refused; the call counts once while pending and is remembered after its stream."""
    now = [100.0]
    tokens = StreamTokens(b"k" * 32, 60, lambda: now[0])
    first, retry = tokens.issue("CA1"), tokens.issue("CA1")
    assert tokens.pending() == 1
    assert not tokens.streamed("CA1")
    assert tokens.redeem("CA1", retry) is None
    assert tokens.redeem("CA1", first) == "this call already streamed"
    assert tokens.streamed("CA1") and tokens.pending() == 0
    now[0] += STREAMED_CALL_MEMORY_S + 1
    assert not tokens.streamed("CA1")


def test_stream_tokens_are_single_use_bound_and_expiring():
    """A token redeems once, for its call only, before its expiry."""
    now = [100.0]
    tokens = StreamTokens(b"k" * 32, 60, lambda: now[0])
    token = tokens.issue("CA1")
    assert tokens.redeem("CA2", token) == "stream token does not match this call"
    assert tokens.redeem("CA1", token) is None
    assert tokens.redeem("CA1", token) == "stream token already used"
    late = tokens.issue("CA1")
    now[0] += 61
    assert tokens.redeem("CA1", late) == "stream token expired"
    assert tokens.redeem("CA1", "garbage") == "malformed stream token"
    forged = StreamTokens(b"x" * 32, 60, lambda: now[0]).issue("CA1")
    assert tokens.redeem("CA1", forged) == "stream token does not match this call"


def test_pending_tokens_count_answered_calls_whose_stream_has_not_arrived():
    """Issued and not yet redeemed nor expired: what a graceful shutdown waits for."""
    now = [100.0]
    tokens = StreamTokens(b"k" * 32, 60, lambda: now[0])
    first, _second = tokens.issue("CA1"), tokens.issue("CA2")
    assert tokens.pending() == 2
    assert tokens.redeem("CA1", first) is None
    assert tokens.pending() == 1
    now[0] += 61
    assert tokens.pending() == 0


def test_twiml_connects_and_nothing_follows():
    """The answer is Response > Connect > Stream with parameters; helpers for hang-up/transfer."""
    xml = connect_stream(stream_url("bot.example.com"), {"call_id": "CA1", "user_phone": ""})
    root = ET.fromstring(xml)
    assert [child.tag for child in root] == ["Connect"]
    stream = root.find("./Connect/Stream")
    assert stream is not None
    assert stream.get("url") == "wss://bot.example.com/webhooks/twilio_media_streams/websocket"
    assert {p.get("name"): p.get("value") for p in stream} == {"call_id": "CA1", "user_phone": ""}
    assert ET.fromstring(hangup_twiml()).find("Hangup") is not None
    dial = ET.fromstring(transfer_twiml("+15551234")).find("Dial")
    assert dial is not None and dial.text == "+15551234"
