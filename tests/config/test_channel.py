"""The twilio_media_streams block: the brief's keys unchanged, ours validated, errors located."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephonist.config.channel import parse_channel
from telephonist.config.yamlfile import load_yaml
from telephonist.errors import ConfigError

BRIEF_BLOCK = """
twilio_media_streams:
  server_url: "example.ngrok.app"
  asr:
    name: "azure"
  tts:
    name: "azure"
  monitor_silence: false
  username: "<username>"
  password: "<password>"
"""


def parse(block: dict, environ: dict | None = None):
    """Parse a block as if from credentials.yml."""
    return parse_channel(block, file="credentials.yml", environ=environ or {})


def test_the_briefs_block_parses_unchanged(tmp_path: Path):
    """A Rasa user's credentials.yml block works as it is."""
    path = tmp_path / "credentials.yml"
    path.write_text(BRIEF_BLOCK)
    channel = parse(load_yaml(path, {})["twilio_media_streams"])
    assert channel.server_url == "example.ngrok.app"
    assert channel.asr == {"name": "azure"} and channel.tts == ({"name": "azure"},)
    assert (channel.username, channel.password) == ("<username>", "<password>")
    assert channel.monitor_silence is False
    assert channel.silence_timeout == 7.0
    assert channel.interruptions.enabled
    assert "<password>" not in repr(channel)


@pytest.mark.parametrize(
    "given, expected",
    [
        ("example.com", "example.com"),
        ("example.com:8443", "example.com:8443"),
        ("https://example.com/", "example.com"),
        ("wss://example.com", "example.com"),
        ("HTTP://my-http-host.example.com", "my-http-host.example.com"),
        ("example.com/bot/", "example.com/bot"),
    ],
)
def test_server_url_is_normalised(given, expected):
    """Pasted URLs and trailing slashes are tolerated, without Rasa's global replace."""
    channel = parse({"server_url": given, "asr": {"name": "local"}, "tts": {"name": "local"}})
    assert channel.server_url == expected


@pytest.mark.parametrize(
    "block, key, message",
    [
        ({"asr": {"name": "local"}, "tts": {"name": "local"}}, "server_url", "is required"),
        ({"server_url": "x.com", "tts": {"name": "local"}}, "asr", "is required"),
        ({"server_url": "x.com", "asr": "local", "tts": {"name": "local"}}, "asr", "'name'"),
        (
            {
                "server_url": "x.com",
                "asr": {"name": "local"},
                "tts": {"name": "local"},
                "username": "u",
            },
            "password",
            "together",
        ),
        (
            {
                "server_url": "x.com",
                "asr": {"name": "local"},
                "tts": {"name": "local"},
                "monitor_silence": "yes",
            },
            "monitor_silence",
            "must be a bool",
        ),
        (
            {
                "server_url": "x.com",
                "asr": {"name": "local"},
                "tts": {"name": "local"},
                "silense_timeout": 3,
            },
            "silense_timeout",
            "unknown key",
        ),
        (
            {
                "server_url": "x.com",
                "asr": {"name": "local"},
                "tts": {"name": "local"},
                "interruptions": {"enabled": True, "min_word": 2},
            },
            "interruptions.min_word",
            "unknown key",
        ),
        (
            {"server_url": "http://", "asr": {"name": "local"}, "tts": {"name": "local"}},
            "server_url",
            "not a host name",
        ),
        (
            {
                "server_url": "x.com",
                "asr": {"name": "local"},
                "tts": {"name": "local"},
                "vad": {"name": "webrtc"},
            },
            "vad.name",
            "must be 'silero' or 'energy'",
        ),
        (
            {
                "server_url": "x.com",
                "asr": {"name": "local"},
                "tts": {"name": "local"},
                "stream_token_secret": "short",
            },
            "stream_token_secret",
            "at least 32 characters",
        ),
    ],
)
def test_bad_blocks_name_file_and_key(block, key, message):
    """Every problem is a ConfigError with credentials.yml and the full key."""
    with pytest.raises(ConfigError, match=message) as error:
        parse(block)
    assert error.value.file == "credentials.yml"
    assert error.value.key == f"twilio_media_streams.{key}"


def test_secrets_from_environment_and_tts_chain():
    """The auth token and account SID may come from the environment; tts may be a list."""
    channel = parse(
        {
            "server_url": "x.com",
            "asr": {"name": "local"},
            "tts": [{"name": "cartesia"}, {"name": "local"}],
            "twilio_account_sid": "AC1",
        },
        {"TWILIO_AUTH_TOKEN": "s3cr3t-auth-value"},
    )
    assert channel.twilio_auth_token == "s3cr3t-auth-value" and channel.checks_signatures
    assert [b["name"] for b in channel.tts] == ["cartesia", "local"]
    assert "s3cr3t" not in repr(channel)
    shared = parse(
        {"server_url": "x.com", "asr": {"name": "local"}, "tts": {"name": "local"}},
        {"TELEPHONIST_STREAM_TOKEN_SECRET": "k" * 40},
    )
    assert shared.stream_token_secret == "k" * 40 and "kkkk" not in repr(shared)


def test_yaml_interpolation_and_errors(tmp_path: Path):
    """${VAR} and ${VAR:-default} expand; a missing variable and bad YAML name the file."""
    path = tmp_path / "credentials.yml"
    path.write_text("a: ${HOST}\nb: ${PORT:-5005}\n")
    assert load_yaml(path, {"HOST": "h.example"}) == {"a": "h.example", "b": "5005"}
    with pytest.raises(ConfigError, match="HOST is not set"):
        load_yaml(path, {})
    path.write_text("a: [unclosed\n")
    with pytest.raises(ConfigError, match="line 2: invalid YAML") as error:
        load_yaml(path, {})
    assert error.value.file == str(path)


def test_interruption_keys_for_barge_ins_on_hold():
    """resume_after_ms and backchannels sit beside min_speech_ms and min_words; wrong values
    name their key."""
    base = {"server_url": "x.com", "asr": {"name": "local"}, "tts": {"name": "local"}}
    default = parse(base).interruptions
    assert default.resume_after_ms == 600 and "mm-hm" in default.backchannels
    tuned = parse(
        {**base, "interruptions": {"resume_after_ms": 0, "backchannels": [" uh-huh ", "sure"]}}
    ).interruptions
    assert tuned.resume_after_ms == 0 and tuned.backchannels == ("uh-huh", "sure")
    assert parse({**base, "interruptions": {"backchannels": []}}).interruptions.backchannels == ()
    for value, key, message in [
        ({"resume_after_ms": -1}, "resume_after_ms", "must be >= 0"),
        ({"resume_after_ms": "soon"}, "resume_after_ms", "must be a int"),
        ({"backchannels": "mm-hm"}, "backchannels", "must be a list"),
        ({"backchannels": ["ok", ""]}, "backchannels", "must be a list"),
        ({"min_speech_ms": -5}, "min_speech_ms", "must be >= 0"),
    ]:
        with pytest.raises(ConfigError, match=message) as error:
            parse({**base, "interruptions": value})
        assert error.value.key == f"twilio_media_streams.interruptions.{key}"


def test_resume_is_on_with_a_shared_secret_and_checked():
    """Resume follows the stream-token secret unless turned off; turned on without one, or
    with a bad count, it names its key."""
    base = {"server_url": "x.com", "asr": {"name": "local"}, "tts": {"name": "local"}}
    secret = {"TELEPHONIST_STREAM_TOKEN_SECRET": "k" * 40}
    assert not parse(base).resume.enabled
    on = parse(base, secret).resume
    assert on.enabled and on.max_per_call == 3
    assert not parse({**base, "resume": False}, secret).resume.enabled
    assert not parse({**base, "resume": {"max_per_call": 0}}, secret).resume.enabled
    assert parse({**base, "resume": {"max_per_call": 5}}, secret).resume.max_per_call == 5
    for value, key, message in (
        (True, "resume.enabled", "needs stream_token_secret"),
        ({"max_per_call": -1}, "resume.max_per_call", "from 0 to 100"),
        ({"max_per_call": True}, "resume.max_per_call", "from 0 to 100"),
        ({"enabled": "yes"}, "resume.enabled", "true or false"),
        ({"retries": 2}, "resume.retries", "unknown key"),
        ("always", "resume", "mapping or true/false"),
    ):
        with pytest.raises(ConfigError, match=message) as error:
            parse({**base, "resume": value}, secret if key != "resume.enabled" else {})
        assert error.value.key == f"twilio_media_streams.{key}"
