"""The safe condition language used by flow branches and rejections."""

from __future__ import annotations

import pytest

from telephonist.dialogue.conditions import ConditionSyntaxError, parse_condition

SCOPE = {
    "slots": {
        "amount": 150.0,
        "confirm": True,
        "name": "Bob",
        "empty": None,
        "n": "42",
        "tags": ["gold", "vip"],
    },
    "context": {"reason": "cannot_handle_chitchat"},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("slots.amount > 100", True),
        ("slots.amount <= 100", False),
        ("not slots.confirm", False),
        ("slots.empty is null", True),
        ("slots.empty is not null", False),
        ("slots.name is not null", True),
        ('slots.name = "bob"', True),
        ("slots.name != 'bob'", False),
        ("amount >= 150 and (confirm or false)", True),
        ("slots.n = 42", True),
        ("slots.empty > 3", False),
        ("slots.missing = null", True),
        ("slots.name contains 'o'", True),
        ("true", True),
        ("slots.name is 'BOB'", True),
        ("slots.name is not 'bob'", False),
        ("slots.amount is 150", True),
        ("slots.empty is empty", True),
        ("slots.name is empty", False),
        ("slots.missing is undefined", True),
        (r'slots.n matches "^\d\d$"', True),
        (r'not (slots.n matches "^\d[\s]?\d[\s]?\d[\s]?\d$")', True),
        ('slots.name matches "^b"', False),
        ('slots.tags contains "Gold"', True),
        ('slots.tags contains "silver"', False),
        ('{"bob" "ann"} contains slots.name', True),
        ('{"ann", "eve"} contains slots.name', False),
        ("context.reason is 'cannot_handle_chitchat'", True),
    ],
)
def test_evaluates(text: str, expected: bool) -> None:
    """Each expression evaluates as documented (None-safe, numbers coerced, case-insensitive)."""
    assert parse_condition(text).evaluate(SCOPE) is expected


@pytest.mark.parametrize(
    "text", ["slots.a >", "(slots.a = 1", "slots.a is", "__import__('os')", "", "a matches b"]
)
def test_rejects_bad_syntax(text: str) -> None:
    """Malformed or code-like text is a syntax error, never executed."""
    with pytest.raises(ConditionSyntaxError):
        parse_condition(text)


def test_reports_slot_names() -> None:
    """slot_names lists every slot a condition reads, for the project checks."""
    cond = parse_condition("slots.a > 1 or not b and context.x = 2")
    assert cond.slot_names() == {"a", "b"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("slots.a in {1 2}", "operator 'in' is not supported"),
        ("(slots.a like 'x')", "operator 'like' is not supported"),
        ('slots.a matches "("', "bad regular expression"),
    ],
)
def test_unsupported_operators_are_named(text: str, message: str) -> None:
    """An operator outside Rasa's set is reported by name as not supported."""
    with pytest.raises(ConditionSyntaxError, match=message):
        parse_condition(text)
