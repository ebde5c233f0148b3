"""The channel's ``turn:`` block: defaults, values, and errors that name the key."""

from __future__ import annotations

from typing import Any

import pytest

from telephonist.call.settings import CallSettings
from telephonist.config.channel import parse_channel
from telephonist.config.turn import TurnSettings
from telephonist.errors import ConfigError


def parse(turn: Any) -> TurnSettings:
    """The ``turn`` settings of a channel block holding ``turn`` (absent when None)."""
    block: dict[str, Any] = {"server_url": "example.org", "asr": {"name": "x"}}
    block["tts"] = {"name": "x"}
    if turn is not None:
        block["turn"] = turn
    return parse_channel(block, file="credentials.yml", environ={}).turn


def test_the_default_is_the_smart_turn_model() -> None:
    """No block: Smart Turn after a 200 ms pause, waiting at most 2 s, threshold 0.5."""
    assert parse(None) == TurnSettings("smart-turn", 200, 2000, 0.5, 0.5)
    assert parse(None).uses_model


def test_values_are_taken_and_reach_the_call_settings() -> None:
    """Every key is read; the call's settings carry them."""
    turn = parse(
        {
            "model": "smart-turn",
            "pause_ms": 300,
            "max_wait_ms": 1500,
            "threshold": 0.7,
            "max_cpu": 1.5,
            "rescore_ms": 600,
        }
    )
    assert turn == TurnSettings("smart-turn", 300, 1500, 0.7, 1.5, rescore_ms=600)
    channel = parse_channel(
        {"server_url": "e.org", "asr": {"name": "x"}, "tts": {"name": "x"}, "turn": {}},
        file="credentials.yml",
        environ={},
    )
    assert CallSettings.from_channel(channel, "en").turn == TurnSettings()


def test_speculation_is_on_by_default_and_can_be_turned_off() -> None:
    """The model starts scoring after 100 ms of quiet; null, or pause_ms itself, means at
    the pause."""
    assert parse(None).speculate_ms == 100
    assert parse({"speculate_ms": 150}).speculate_ms == 150
    assert parse({"speculate_ms": None}).speculate_ms is None
    assert parse({"speculate_ms": 200}).speculate_ms is None


def test_model_none_turns_the_model_off() -> None:
    """``model: none`` keeps the silence rule (vad.min_silence_ms)."""
    assert not parse({"model": "none"}).uses_model


@pytest.mark.parametrize(
    ("turn", "key", "message"),
    [
        ("yes", "twilio_media_streams.turn", "must be a mapping"),
        ({"modle": "none"}, "twilio_media_streams.turn.modle", "unknown key"),
        ({"model": "smart"}, "twilio_media_streams.turn.model", "smart-turn, none"),
        ({"model": None}, "twilio_media_streams.turn.model", "smart-turn, none"),
        ({"pause_ms": "200"}, "twilio_media_streams.turn.pause_ms", "must be a number"),
        ({"pause_ms": True}, "twilio_media_streams.turn.pause_ms", "must be a number"),
        ({"pause_ms": 10}, "twilio_media_streams.turn.pause_ms", "from 20 to 5000"),
        ({"pause_ms": 250.5}, "twilio_media_streams.turn.pause_ms", "whole number"),
        ({"max_wait_ms": 100}, "twilio_media_streams.turn.max_wait_ms", "from pause_ms"),
        ({"max_wait_ms": 60000}, "twilio_media_streams.turn.max_wait_ms", "to 30000"),
        ({"threshold": 1.0}, "twilio_media_streams.turn.threshold", "between 0 and 1"),
        ({"threshold": 0}, "twilio_media_streams.turn.threshold", "between 0 and 1"),
        ({"max_cpu": 0}, "twilio_media_streams.turn.max_cpu", "above 0"),
        ({"rescore_ms": 10}, "twilio_media_streams.turn.rescore_ms", "from 20 to 30000"),
        ({"rescore_ms": 300.5}, "twilio_media_streams.turn.rescore_ms", "whole number"),
        ({"max_cpu": "half"}, "twilio_media_streams.turn.max_cpu", "must be a number"),
        ({"speculate_ms": 300}, "twilio_media_streams.turn.speculate_ms", "to pause_ms \\(200\\)"),
        ({"speculate_ms": 10}, "twilio_media_streams.turn.speculate_ms", "from 20"),
        ({"speculate_ms": 50.5}, "twilio_media_streams.turn.speculate_ms", "whole number"),
    ],
)
def test_bad_values_name_the_key(turn: Any, key: str, message: str) -> None:
    """Each mistake is refused with the file, the key and what is expected."""
    with pytest.raises(ConfigError, match=message) as caught:
        parse(turn)
    assert caught.value.key == key and caught.value.file == "credentials.yml"


def test_unfinished_words_wait_by_default_and_can_be_set_or_turned_off() -> None:
    """Words that stop mid-sentence wait 1.5 s after the pause began, by the English list;
    both keys are read, 0 turns the wait off, and the list is lower-cased."""
    assert parse(None).unfinished_wait_ms == 1500
    assert {"the", "your", "and"} <= set(parse(None).unfinished_words)
    turn = parse({"unfinished_wait_ms": 0, "unfinished_words": ["Der", "und"]})
    assert turn.unfinished_wait_ms == 0 and turn.unfinished_words == ("der", "und")
    assert parse({"unfinished_words": []}).unfinished_words == ()
    assert parse(None).unfinished_below == 0.6
    assert parse({"unfinished_below": 0}).unfinished_below == 0.0
    assert parse({"unfinished_below": 0.6}).unfinished_below == 0.6


@pytest.mark.parametrize(
    ("block", "key", "message"),
    [
        ({"unfinished_wait_ms": -1}, "turn.unfinished_wait_ms", "from 0 (off) to 30000"),
        ({"unfinished_wait_ms": 1.5}, "turn.unfinished_wait_ms", "whole number"),
        ({"unfinished_wait_ms": "1s"}, "turn.unfinished_wait_ms", "must be a number"),
        ({"unfinished_words": "the"}, "turn.unfinished_words", "list of single words"),
        ({"unfinished_words": ["the end"]}, "turn.unfinished_words", "list of single words"),
        ({"unfinished_words": [3]}, "turn.unfinished_words", "list of single words"),
        ({"unfinished_below": 1.5}, "turn.unfinished_below", "from 0 (off) to 1"),
        ({"unfinished_below": "high"}, "turn.unfinished_below", "must be a number"),
    ],
)
def test_bad_unfinished_keys_are_named(block: dict[str, Any], key: str, message: str) -> None:
    """Each bad value is refused with the file and the key."""
    with pytest.raises(ConfigError) as raised:
        parse(block)
    assert raised.value.key == f"twilio_media_streams.{key}" and message in str(raised.value)
    assert "credentials.yml" in str(raised.value)
