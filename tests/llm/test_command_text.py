"""Reading Rasa Pro's command language from a model's answer, whole or streamed."""

from __future__ import annotations

import pytest

from telephonist.dialogue.commands import (
    CancelFlow,
    CannotHandle,
    ChitChat,
    Clarify,
    HumanHandoff,
    RepeatBotMessages,
    SearchAndReply,
    SetSlot,
    SkipQuestion,
    StartFlow,
    as_text,
)
from telephonist.dialogue.llm_context import PromptContext
from telephonist.llm.command_text import CommandReader, admissible, parse_line


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("start flow transfer_money", [StartFlow("transfer_money")]),
        ("- start flow 'transfer_money'", [StartFlow("transfer_money")]),
        ("1. Start flow `check-balance`.", [StartFlow("check-balance")]),
        ("set slot recipient Freddy Mercury", [SetSlot("recipient", "Freddy Mercury")]),
        ('set slot amount "50"', [SetSlot("amount", "50")]),
        ("set slot recipient null", [SetSlot("recipient", None)]),
        ("set slot toppings [cheese, 'olives']", [SetSlot("toppings", ["cheese", "olives"])]),
        ("cancel flow", [CancelFlow()]),
        ("disambiguate flows add_card replace_card", [Clarify(("add_card", "replace_card"))]),
        ("disambiguate flows a, b, c", [Clarify(("a", "b", "c"))]),
        ("provide info", [SearchAndReply()]),
        ("offtopic reply", [ChitChat()]),
        ("hand over", [HumanHandoff()]),
        ("repeat message", [RepeatBotMessages()]),
        ("skip question", [SkipQuestion()]),
        ("cannot handle", [CannotHandle()]),
    ],
)
def test_the_compact_form(line: str, expected: list[object]) -> None:
    """Each compact command is read, with the bullets, quotes and case models add."""
    assert parse_line(line) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("StartFlow(transfer_money)", [StartFlow("transfer_money")]),
        ('StartFlow("transfer_money")', [StartFlow("transfer_money")]),
        ("SetSlot(recipient, John (the elder))", [SetSlot("recipient", "John (the elder)")]),
        ("SetSlot(amount, None)", [SetSlot("amount", None)]),
        ("CancelFlow()", [CancelFlow()]),
        ("Clarify(add_card, replace_card)", [Clarify(("add_card", "replace_card"))]),
        ("ChitChat()", [ChitChat()]),
        ("SearchAndReply()", [SearchAndReply()]),
        ("HumanHandoff()", [HumanHandoff()]),
        ("SkipQuestion()", [SkipQuestion()]),
        ("RepeatLastBotMessages()", [RepeatBotMessages()]),
        (
            "StartFlow(transfer_money), SetSlot(recipient, John), SetSlot(amount, 55)",
            [
                StartFlow("transfer_money"),
                SetSlot("recipient", "John"),
                SetSlot("amount", "55"),
            ],
        ),
    ],
)
def test_the_call_form(line: str, expected: list[object]) -> None:
    """The older call form, several commands on a line as fine-tuned models write them."""
    assert parse_line(line) == expected


@pytest.mark.parametrize(
    "line",
    ["Sure! I can help with that.", "start the flow please", "set slot", "Foo(bar)", "{}"],
)
def test_what_is_not_a_command(line: str) -> None:
    """Prose, half commands and unknown calls are not commands."""
    assert parse_line(line) == []


def test_streamed_pieces_become_commands_when_their_line_is_complete() -> None:
    """A command counts once its line ends; the last line counts when the answer ends;
    prose and fences are skipped and the prose is counted."""
    reader = CommandReader()
    assert reader.feed("```\nstart fl") == []
    assert reader.feed("ow transfer_money\nset slot amo") == [StartFlow("transfer_money")]
    assert reader.feed("unt 50\nI hope this helps!\n") == [SetSlot("amount", "50")]
    assert reader.feed("hand over") == []
    assert reader.finish() == [HumanHandoff()]
    assert reader.commands == [StartFlow("transfer_money"), SetSlot("amount", "50"), HumanHandoff()]
    assert reader.unparsed == 1


def test_a_line_that_never_ends_is_not_kept() -> None:
    """Characters without a line break beyond the cap are counted as one unparsed line."""
    reader = CommandReader()
    reader.feed("x" * 2500)
    assert (reader.commands, reader.unparsed) == ([], 1)


def test_only_the_flows_and_slots_the_prompt_offered_are_admitted() -> None:
    """Unknown flows and slots are dropped and counted; a clarification left with one
    known flow starts it; repeats are kept once."""
    context = PromptContext({}, flows=frozenset({"a", "b"}), slots=frozenset({"x"}))
    kept, dropped = admissible(
        [
            StartFlow("a"),
            StartFlow("nope"),
            SetSlot("x", "1"),
            SetSlot("secret", "1"),
            Clarify(("b", "zzz")),
            StartFlow("a"),
            ChitChat(),
        ],
        context,
    )
    assert kept == [StartFlow("a"), SetSlot("x", "1"), StartFlow("b"), ChitChat()]
    assert dropped == 2


def test_commands_written_back_in_the_compact_form() -> None:
    """``as_text`` writes what the parser reads."""
    for command in (StartFlow("f"), SetSlot("s", "v"), Clarify(("a", "b")), HumanHandoff()):
        assert parse_line(as_text(command)) == [command]
