"""The safe condition language used by flow branches and rejections."""

from __future__ import annotations

import pytest

from telephonist.dialogue.conditions import ConditionSyntaxError, parse_condition

SCOPE = {"slots": {"amount": 150.0, "confirm": True, "name": "Bob", "empty": None, "n": "42"}}


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
    ],
)
def test_evaluates(text: str, expected: bool) -> None:
    """Each expression evaluates as documented (None-safe, numbers coerced, case-insensitive)."""
    assert parse_condition(text).evaluate(SCOPE) is expected


@pytest.mark.parametrize(
    "text", ["slots.a >", "(slots.a = 1", "slots.a is 3", "__import__('os')", ""]
)
def test_rejects_bad_syntax(text: str) -> None:
    """Malformed or code-like text is a syntax error, never executed."""
    with pytest.raises(ConditionSyntaxError):
        parse_condition(text)


def test_reports_slot_names() -> None:
    """slot_names lists every slot a condition reads, for the project checks."""
    cond = parse_condition("slots.a > 1 or not b and context.x = 2")
    assert cond.slot_names() == {"a", "b"}
