"""The ``assistant:`` block: defaults, validation naming the key, and the token kept secret."""

from __future__ import annotations

import pytest

from telephonist.errors import ConfigError
from telephonist.gateway.settings import (
    GatewaySettings,
    parse_gateway,
    read_gateway,
    settings_for_url,
)

SECRET = "tok-5ecret-value"


def test_defaults_follow_rasa_pro_voice_channels():
    """Only type and url are needed; the rest defaults as documented."""
    settings = parse_gateway({"type": "rasa", "url": "http://localhost:5006/"}, file="e.yml")
    assert settings.url == "http://localhost:5006"
    assert (settings.start_message, settings.end_message) == ("/session_start", "/session_end")
    assert settings.silence_message is None
    assert (settings.timeout, settings.language, settings.token) == (5.0, "en", None)
    assert settings.webhook_url == "http://localhost:5006/webhooks/rest/webhook"


def test_a_pasted_webhook_url_and_null_messages_are_accepted():
    """The REST webhook path is tolerated; null start/end messages send nothing."""
    settings = parse_gateway(
        {
            "type": "rasa",
            "url": "https://bot.example.com/rasa/webhooks/rest/webhook",
            "start_message": "/greet",
            "end_message": None,
            "silence_message": "/silence_timeout",
            "timeout": 2,
            "language": "de",
        },
        file="e.yml",
    )
    assert settings.url == "https://bot.example.com/rasa"
    assert (settings.start_message, settings.end_message) == ("/greet", None)
    assert settings.silence_message == "/silence_timeout"
    assert (settings.timeout, settings.language) == (2.0, "de")


@pytest.mark.parametrize(
    ("block", "key", "words"),
    [
        ({"url": "http://x"}, "assistant.type", "must be 'rasa'"),
        ({"type": "rasa"}, "assistant.url", "is required"),
        ({"type": "rasa", "url": "localhost:5005"}, "assistant.url", "http:// or https://"),
        ({"type": "rasa", "url": "http://x", "timeout": 0}, "assistant.timeout", "positive"),
        ({"type": "rasa", "url": "http://x", "timeout": True}, "assistant.timeout", "positive"),
        ({"type": "rasa", "url": "http://x", "start_message": 3}, "assistant.start_message", ""),
        ({"type": "rasa", "url": "http://x", "urll": 1}, "assistant.urll", "unknown key"),
        ({"type": "rasa", "url": "http://x", "phrases": {"press": "Press"}}, "phrases.press", ""),
        ({"type": "rasa", "url": "http://x", "max_connections": 0}, "max_connections", ""),
    ],
)
def test_bad_values_name_the_file_and_key(block, key, words):
    """Each mistake is a ConfigError naming the file and the key."""
    with pytest.raises(ConfigError) as caught:
        parse_gateway(block, file="endpoints.yml")
    assert str(caught.value).startswith("endpoints.yml: ")
    assert key in str(caught.value) and words in str(caught.value)


def test_the_token_never_shows():
    """Not in the repr, nor in the error for a URL that carries it."""
    settings = parse_gateway({"type": "rasa", "url": "http://x", "token": SECRET}, file="e.yml")
    assert settings.token == SECRET
    assert SECRET not in repr(settings)
    with pytest.raises(ConfigError) as caught:
        parse_gateway({"type": "rasa", "url": f"http://x/?token={SECRET}"}, file="e.yml")
    assert SECRET not in str(caught.value) and "assistant.token" in str(caught.value)


def test_read_gateway_expands_variables_only_in_the_block(tmp_path):
    """``${VAR}`` works in the block; other blocks' variables are left to their readers."""
    file = tmp_path / "endpoints.yml"
    file.write_text(
        "tracker_store:\n  type: redis\n  password: ${UNSET_HERE}\n"
        "assistant:\n  type: rasa\n  url: ${RASA_URL}\n  token: ${RASA_TOKEN}\n"
    )
    settings = read_gateway(file, {"RASA_URL": "http://rasa:5005", "RASA_TOKEN": SECRET})
    assert settings == GatewaySettings(url="http://rasa:5005", token=SECRET)
    with pytest.raises(ConfigError, match="RASA_TOKEN is not set"):
        read_gateway(file, {"RASA_URL": "http://rasa:5005"})


def test_no_file_or_no_block_means_the_built_in_assistant(tmp_path):
    """Without an assistant block the project's own assistant answers."""
    assert read_gateway(tmp_path / "missing.yml", {}) is None
    (tmp_path / "endpoints.yml").write_text("action_endpoint: {url: http://localhost:5055}\n")
    assert read_gateway(tmp_path / "endpoints.yml", {}) is None


def test_rasa_url_option_overrides_the_block_url():
    """``--rasa-url`` keeps the block's other settings and checks the URL the same way."""
    block = GatewaySettings(url="http://a:1", start_message="/greet", token=SECRET)
    assert settings_for_url("http://b:2", block, option="--rasa-url") == GatewaySettings(
        url="http://b:2", start_message="/greet", token=SECRET
    )
    assert settings_for_url("http://b:2/", None, option="--rasa-url").url == "http://b:2"
    with pytest.raises(ConfigError, match=r"^--rasa-url: must be an http"):
        settings_for_url("b:2", None, option="--rasa-url")


@pytest.mark.parametrize(("block", "pool"), [({}, 350), ({"max_connections": 40}, 40)])
def test_the_connection_pool_has_room_for_every_call_unless_set(block, pool):
    """Left unset, the pool holds one connection per call the process may hold."""
    from telephonist.call.events import EventBus
    from telephonist.config.channel import parse_channel
    from telephonist.server.gateway_setup import build_gateway

    channel = parse_channel(
        {
            "server_url": "x",
            "asr": {"name": "local"},
            "tts": {"name": "local"},
            "limits": {"max_calls": 350},
        },
        file="credentials.yml",
        environ={},
    )
    settings = parse_gateway({"type": "rasa", "url": "http://x", **block}, file="e.yml")
    assistant = build_gateway(settings, channel, EventBus(), can_transfer=False)
    assert assistant.settings.max_connections == assistant.client.settings.max_connections
    assert assistant.client.settings.max_connections == pool
