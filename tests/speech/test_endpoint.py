"""Endpoint normalisation: bare hosts get the secure scheme and default path; URLs are kept."""

from __future__ import annotations

import pytest

from telephonist.speech.endpoint import EndpointError, normalize_endpoint


def ws(endpoint: str | None) -> str:
    """Normalised as Deepgram ASR does."""
    return normalize_endpoint(
        endpoint, kind="websocket", default_host="api.deepgram.com", default_path="/v1/listen"
    )


def http(endpoint: str | None) -> str:
    """Normalised as Azure TTS does."""
    return normalize_endpoint(
        endpoint,
        kind="http",
        default_host="eastus.tts.speech.microsoft.com",
        default_path="/cognitiveservices/v1",
    )


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        (None, "wss://api.deepgram.com/v1/listen"),
        ("", "wss://api.deepgram.com/v1/listen"),
        ("api.eu.deepgram.com", "wss://api.eu.deepgram.com/v1/listen"),
        ("proxy.internal:8443", "wss://proxy.internal:8443/v1/listen"),
        ("ws://127.0.0.1:5000", "ws://127.0.0.1:5000/v1/listen"),
        ("ws://127.0.0.1:5000/", "ws://127.0.0.1:5000/v1/listen"),
        ("wss://onprem.example/custom/listen/", "wss://onprem.example/custom/listen"),
        ("https://api.deepgram.com", "wss://api.deepgram.com/v1/listen"),
        ("http://localhost:8080", "ws://localhost:8080/v1/listen"),
    ],
)
def test_websocket_endpoints(endpoint: str | None, expected: str) -> None:
    """Websocket providers: wss by default, ws:// kept, http(s) mapped to ws(s)."""
    assert ws(endpoint) == expected


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        (None, "https://eastus.tts.speech.microsoft.com/cognitiveservices/v1"),
        ("tts.internal", "https://tts.internal/cognitiveservices/v1"),
        ("http://localhost:5000", "http://localhost:5000/cognitiveservices/v1"),
        ("https://x.example/cognitiveservices/v1", "https://x.example/cognitiveservices/v1"),
        ("wss://x.example", "https://x.example/cognitiveservices/v1"),
    ],
)
def test_http_endpoints(endpoint: str | None, expected: str) -> None:
    """REST providers: https by default, http:// kept, ws(s) mapped to http(s)."""
    assert http(endpoint) == expected


@pytest.mark.parametrize(
    "endpoint",
    [
        "ftp://host",
        "ws://",
        "wss://user:secret@host",
        "wss://user:secret@",
        "wss://host:notaport",
        "wss://host/listen?api_key=abc",
        "wss://host/#frag",
    ],
)
def test_rejected_endpoints(endpoint: str) -> None:
    """Unknown schemes, missing hosts, credentials, bad ports and query strings are refused."""
    with pytest.raises(EndpointError) as caught:
        ws(endpoint)
    assert "secret" not in str(caught.value) and "abc" not in str(caught.value)
