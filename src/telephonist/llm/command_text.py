"""Rasa Pro's command language, read from a model's answer as it streams in. Pure.

Both forms a Rasa prompt may ask for are read, one command a line: the compact one
(``start flow NAME``, ``set slot NAME VALUE``, ``cancel flow``, ``disambiguate flows A B``,
``provide info``, ``offtopic reply``, ``hand over``, ``repeat message``, ``skip question``,
``cannot handle``) and the older call form (``StartFlow(NAME)``, ``SetSlot(NAME, VALUE)``,
``CancelFlow()``, ``Clarify(A, B)``, ``ChitChat()``, ``SearchAndReply()``,
``HumanHandoff()``, ``SkipQuestion()``, ``RepeatLastBotMessages()``, ``CannotHandle()``;
several may share a line). A line that is none of these is counted and ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from telephonist.dialogue.commands import (
    CancelFlow,
    CannotHandle,
    ChitChat,
    Clarify,
    Command,
    HumanHandoff,
    RepeatBotMessages,
    SearchAndReply,
    SetSlot,
    SkipQuestion,
    StartFlow,
)
from telephonist.dialogue.llm_context import PromptContext

__all__ = ["CommandReader", "admissible", "parse_line"]

_NAME = r"""['"`]?([A-Za-z0-9_-]+)['"`]?"""
_LEAD = r"""^[\s\W\d]*"""  # bullets, numbering, quotes and code marks before a command
_TAIL = r"""['"`.]*\s*$"""
_COMPACT: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(_LEAD + r"start flow " + _NAME + _TAIL, re.I), lambda m: StartFlow(m[1])),
    (
        re.compile(_LEAD + r"set slot " + _NAME + r"\s+(.+?)\s*$", re.I),
        lambda m: SetSlot(m[1], slot_value(m[2])),
    ),
    (
        re.compile(_LEAD + r"disambiguate flows ([\"'`\w, -]+?)" + _TAIL, re.I),
        lambda m: Clarify(flow_names(m[1])),
    ),
]
_WORDS: dict[str, Command] = {
    "cancel flow": CancelFlow(),
    "provide info": SearchAndReply(),
    "offtopic reply": ChitChat(),
    "hand over": HumanHandoff(),
    "repeat message": RepeatBotMessages(),
    "skip question": SkipQuestion(),
    "cannot handle": CannotHandle(),
}
_WORD_LINE = re.compile(_LEAD + r"([a-z ]+?)" + _TAIL, re.I)
_CALL = re.compile(r"""\b([A-Z][A-Za-z]+)\((.*?)\)(?=\s*(?:,|;|$|[A-Z][A-Za-z]+\())""")
_CALLS: dict[str, Any] = {
    "StartFlow": lambda a: StartFlow(a[0]) if len(a) == 1 else None,
    "SetSlot": lambda a: SetSlot(a[0], slot_value(a[1])) if len(a) == 2 else None,
    "CorrectSlot": lambda a: SetSlot(a[0], slot_value(a[1])) if len(a) == 2 else None,
    "Clarify": lambda a: Clarify(tuple(a)) if a else None,
    "CancelFlow": lambda a: CancelFlow(),
    "ChitChat": lambda a: ChitChat(),
    "SearchAndReply": lambda a: SearchAndReply(),
    "KnowledgeAnswer": lambda a: SearchAndReply(),
    "HumanHandoff": lambda a: HumanHandoff(),
    "SkipQuestion": lambda a: SkipQuestion(),
    "RepeatLastBotMessages": lambda a: RepeatBotMessages(),
    "CannotHandle": lambda a: CannotHandle(),
}
_NULLS = {"none", "null", "undefined", "[null]", ""}
MAX_LINE = 2000  # characters without a line break: not a command


def unquote(text: str) -> str:
    """``"John"`` → ``John``."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"`":
        return text[1:-1].strip()
    return text


def slot_value(text: str) -> Any:
    """A slot value as written: null words are None, ``[a, b]`` a list, else the text."""
    value = unquote(text)
    if value.lower() in _NULLS:
        return None
    if value.startswith("[") and value.endswith("]"):
        items = [unquote(v) for v in value[1:-1].split(",")]
        return [v for v in items if v]
    return value


def flow_names(text: str) -> tuple[str, ...]:
    """``a, "b" c`` → ``("a", "b", "c")``."""
    return tuple(n for n in (unquote(p) for p in re.split(r"[,\s]+", text)) if n)


def _call_arguments(text: str, name: str) -> list[str]:
    if name in ("SetSlot", "CorrectSlot"):
        head, _, rest = text.partition(",")
        return [unquote(head), rest] if rest else [unquote(head)]
    return [a for a in (unquote(p) for p in text.split(",")) if a]


def parse_line(line: str) -> list[Command]:
    """The commands on one line of a model's answer (none: not a command)."""
    for pattern, make in _COMPACT:
        if match := pattern.match(line):
            return [make(match)]
    if (match := _WORD_LINE.match(line)) and match[1].lower().strip() in _WORDS:
        return [_WORDS[match[1].lower().strip()]]
    found = []
    for match in _CALL.finditer(line.strip()):
        make = _CALLS.get(match[1])
        command = None if make is None else make(_call_arguments(match[2], match[1]))
        if command is not None:
            found.append(command)
    return found


class CommandReader:
    """Reads commands from a streamed answer: each line counts once it is complete."""

    def __init__(self) -> None:
        self.commands: list[Command] = []
        self.unparsed = 0
        self.received = 0  # characters of answer so far
        self._buffer = ""

    def feed(self, text: str) -> list[Command]:
        """Take a piece of the answer; returns the commands it completed."""
        self.received += len(text)
        self._buffer += text
        *lines, self._buffer = self._buffer.split("\n")
        if len(self._buffer) > MAX_LINE:
            lines.append(self._buffer)
            self._buffer = ""
        return [c for line in lines for c in self._line(line)]

    def finish(self) -> list[Command]:
        """The answer is complete: its last line counts too."""
        line, self._buffer = self._buffer, ""
        return self._line(line)

    def _line(self, line: str) -> list[Command]:
        if not line.strip() or set(line.strip()) <= set("`-=*#"):
            return []  # blank lines, code fences, rules
        found = parse_line(line)
        if not found:
            self.unparsed += 1
        self.commands.extend(found)
        return found


def _admit(command: Command, context: PromptContext) -> Command | None:
    if isinstance(command, StartFlow):
        return command if command.flow in context.flows else None
    if isinstance(command, SetSlot):
        return command if command.name in context.slots else None
    if isinstance(command, Clarify):
        flows = tuple(dict.fromkeys(f for f in command.flows if f in context.flows))
        if not flows:
            return None
        return StartFlow(flows[0]) if len(flows) == 1 else Clarify(flows)
    return command


def admissible(commands: Iterable[Command], context: PromptContext) -> tuple[list[Command], int]:
    """The commands that name flows and slots the prompt offered (each once), and how
    many were dropped. A clarification left with one flow starts it."""
    kept: list[Command] = []
    dropped = 0
    for command in commands:
        admitted = _admit(command, context)
        if admitted is None:
            dropped += 1
        elif admitted not in kept:
            kept.append(admitted)
    return kept, dropped
