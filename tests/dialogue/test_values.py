"""Reading numbers, digits, yes/no and categories from what callers say."""

from __future__ import annotations

import pytest

from telephonist.dialogue.values import match_category, parse_bool, parse_digits, parse_number


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42.0),
        ("about 1,200.50 dollars", 1200.5),
        ("twenty five", 25.0),
        ("a hundred and five", 105.0),
        ("two thousand three hundred", 2300.0),
        ("three hundred forty two", 342.0),
        ("ten thirty", 10.0),
        ("nothing here", None),
        ("and a", None),
    ],
)
def test_parse_number(text: str, value: float | None) -> None:
    """Digits and spoken English numbers both parse; non-numbers give None."""
    assert parse_number(text) == value


@pytest.mark.parametrize(
    ("text", "digits"),
    [("1234#", "1234#"), ("12 34", "1234"), ("one two three four", "1234"), ("hello", None)],
)
def test_parse_digits(text: str, digits: str | None) -> None:
    """Keyed and spoken digit strings become digits."""
    assert parse_digits(text) == digits


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes please", True),
        ("yeah sure", True),
        ("that's right", True),
        ("no thanks", False),
        ("not really", False),
        ("maybe", None),
        ("yes no", None),
    ],
)
def test_parse_bool(text: str, value: bool | None) -> None:
    """Yes/no words and phrases; ambiguity gives None."""
    assert parse_bool(text) is value


def test_match_category_fuzzy_and_synonyms() -> None:
    """Categories match exactly, through synonyms, and despite small ASR errors."""
    values = ["billing", "orders", "appointments"]
    assert match_category("billing", values) == "billing"
    assert match_category("I need bilking please", values) == "billing"
    assert match_category("the status", values, {"status": "orders"}) == "orders"
    assert match_category("weather forecast", values) is None
