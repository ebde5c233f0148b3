"""Errors about configuration never print a secret: neither a value under a secret key nor
one taken from the environment, in any kind of file."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephonist.config.redaction import EnvText, is_secret_key, shown
from telephonist.config.yamlfile import load_yaml
from telephonist.dialogue.domain_loader import read_endpoints
from telephonist.dialogue.project import check_project
from telephonist.dialogue.source import Problems, load_document
from telephonist.errors import ConfigError
from telephonist.server.assembly import Paths, load_channel
from telephonist.speech.registry import ProviderContext, build_asr
from telephonist.speech.tts.fallback import FallbackTTS
from telephonist.starter import copy_starter
from telephonist.stores import open_store

SECRET = "31415926535"
ENV_SECRET = "tok 27182818284"  # not a host, a number, a flag or a provider name


def credentials(tmp_path: Path, extra: str) -> Paths:
    """A project whose credentials.yml has ``extra`` keys in its channel block."""
    (tmp_path / "credentials.yml").write_text(
        "twilio_media_streams:\n"
        "  server_url: example.com\n"
        "  asr: {name: local}\n"
        "  tts: {name: local}\n" + extra
    )
    return Paths(tmp_path)


@pytest.mark.parametrize(
    "extra, key",
    [
        (f"  username: u\n  password: {SECRET}\n", "password"),
        (f"  twilio_auth_token: {SECRET}\n", "twilio_auth_token"),
        (f"  stream_token_secret: {SECRET}\n", "stream_token_secret"),
    ],
)
def test_a_secret_of_the_wrong_type_is_not_printed(tmp_path: Path, extra: str, key: str) -> None:
    """``password: 31415926535`` (an int) is an error naming the key, not the number."""
    with pytest.raises(ConfigError) as error:
        load_channel(credentials(tmp_path, extra), {})
    message = str(error.value)
    assert f"twilio_media_streams.{key}: must be a str" in message
    assert SECRET not in message and "got an int (hidden: secret key)" in message


def validate(paths: Paths, environ: dict[str, str]) -> None:
    """The start-up checks of the channel block and of its speech providers' blocks."""
    channel = load_channel(paths, environ)
    file = str(paths.credentials_file)
    build_asr(channel.asr, ProviderContext(file, "twilio_media_streams.asr", environ))
    FallbackTTS.from_blocks(channel.tts, ProviderContext(file, "twilio_media_streams.tts", environ))


@pytest.mark.parametrize(
    "key, value",
    [
        ("server_url", "${AUTH}"),
        ("monitor_silence", "${AUTH}"),
        ("dtmf_timeout", "${AUTH}"),
        ("asr", "{name: '${AUTH}'}"),
        ("tts", "{name: deepgram, endpoint: 'https://h:${AUTH}'}"),
    ],
)
def test_a_variable_expanded_into_another_key_is_not_printed(
    tmp_path: Path, key: str, value: str
) -> None:
    """A token read from the environment into a key that rejects it stays unprinted."""
    paths = credentials(tmp_path, "")
    kept = [
        line for line in paths.credentials_file.read_text().splitlines() if f"{key}:" not in line
    ]
    paths.credentials_file.write_text("\n".join([*kept, f"  {key}: {value}", ""]))
    environ = {"AUTH": ENV_SECRET, "DEEPGRAM_API_KEY": "k"}
    with pytest.raises(ConfigError, match=key) as error:
        validate(paths, environ)
    assert "27182818284" not in str(error.value)
    assert "hidden: from the environment" in str(error.value)


def test_tracker_store_values_from_the_environment_are_not_printed(tmp_path: Path) -> None:
    """endpoints.yml: a tracker_store type, dialect or sslmode from ${VAR} is not quoted."""
    path = tmp_path / "endpoints.yml"
    for block in (
        "tracker_store: {type: '${X}'}",
        "tracker_store: {type: SQL, dialect: '${X}'}",
        "tracker_store: {type: SQL, dialect: postgresql, url: db, query: {sslmode: '${X}'}}",
    ):
        path.write_text(block + "\n")
        problems = Problems()
        document = load_document(path, "endpoints.yml", problems, {"X": ENV_SECRET})
        spec = read_endpoints(document, problems)
        assert not problems.items
        with pytest.raises(ConfigError, match=r"tracker_store\.") as error:
            open_store(spec.tracker_store, tmp_path)
        assert "27182818284" not in str(error.value)
        assert "hidden: from the environment" in str(error.value)


def test_a_domain_problem_at_a_secret_key_keeps_the_value_out(tmp_path: Path) -> None:
    """check's "slot type 8675309 is not supported" hides the value for a slot named token."""
    copy_starter(tmp_path)
    domain = tmp_path / "domain.yml"
    domain.write_text(domain.read_text().replace("slots:\n", "slots:\n  token: {type: 8675309}\n"))
    problems = [str(p) for p in check_project(tmp_path)]
    assert any("slots.token.type: slot type <hidden> is not" in p for p in problems), problems
    assert not any("8675309" in p for p in problems)


@pytest.mark.parametrize(
    "name, text, path",
    [
        ("config.yml", "llm:\n  api_key: 1234567\n", ("llm", "api_key")),
        ("endpoints.yml", "assistant:\n  token: 1234567\n", ("assistant", "token")),
        ("domain.yml", "slots:\n  password: {initial_value: 1234567}\n", ("slots", "password")),
        ("data/flows.yml", "flows:\n  f: {client_secret: 1234567}\n", ("flows", "f")),
    ],
)
def test_the_safety_net_scrubs_messages_written_without_the_helper(
    tmp_path: Path, name: str, text: str, path: tuple[str, ...]
) -> None:
    """Problems.add keeps a secret-key value out of a message, in every kind of project
    file, even when a reader quotes it raw."""
    file = tmp_path / "file.yml"
    file.write_text(text)
    problems = Problems()
    doc = load_document(file, name, problems)
    assert doc is not None
    where = {"domain.yml": (*path, "initial_value"), "data/flows.yml": (*path, "client_secret")}
    problems.add(doc, where.get(name, path), "must be a string, got 1234567")
    assert str(problems.items[0]).endswith(": must be a string, got <hidden>")


def test_the_domain_and_data_take_dollar_braces_literally(tmp_path: Path) -> None:
    """${...} in responses and flows is text (it is never read from the environment)."""
    path = tmp_path / "domain.yml"
    path.write_text("responses:\n  utter_price:\n  - text: 'That costs ${PRICE}.'\n")
    problems = Problems()
    doc = load_document(path, "domain.yml", problems)
    assert doc is not None and not problems.items
    assert doc.data["responses"]["utter_price"][0]["text"] == "That costs ${PRICE}."


def test_interpolated_text_is_marked_and_hides_itself(tmp_path: Path) -> None:
    """${VAR} gives an EnvText: equal to the value, hidden in repr, marked after strip/lower."""
    path = tmp_path / "credentials.yml"
    path.write_text("a: ' ${T} '\nb: plain\n")
    data = load_yaml(path, {"T": "Secret"})
    assert data["a"] == " Secret " and isinstance(data["a"], EnvText)
    assert "Secret" not in repr(data["a"]) and "Secret" not in f"{data['a']!r}"
    assert isinstance(data["a"].strip().lower(), EnvText) and isinstance(str(data["a"]), EnvText)
    assert not isinstance(data["b"], EnvText)


@pytest.mark.parametrize(
    "key, secret",
    [
        ("password", True),
        ("tracker_store.password", True),
        ("model_groups[0].models[0].api_key", True),
        ("assistant.token", True),
        ("twilio_media_streams.twilio_auth_token", True),
        (("llm", "api_key"), True),
        ("twilio_media_streams.stream_token_ttl", False),
        ("collect.dtmf.finish_on_key", False),
        ("tracker_store.key_prefix", False),
        ("llm.max_tokens", False),
    ],
)
def test_secret_keys_are_recognised_by_name(key: str | tuple[str, ...], secret: bool) -> None:
    """Key names, anywhere on the path, decide: password/token/api_key and *_token style."""
    assert is_secret_key(key) is secret


def test_shown_quotes_ordinary_values_shortly_and_masks_url_passwords() -> None:
    """Ordinary values are quoted (shortened); a URL's password is masked."""
    assert shown(5, "port") == "5"
    assert shown("x" * 200, "name").endswith("…") and len(shown("x" * 200, "name")) == 60
    assert shown("redis://user:pw@host", "url") == "'redis://user:***@host'"
