"""A small, safe condition language for flow branches, rejections and response conditions:
the operators of Rasa's flow conditions, parsed once into a tree, never ``eval``ed.

Grammar (case-insensitive keywords)::

    expr    := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := value ( OP value | "is" ["not"] value | "contains" value
                     | "matches" STRING )?
    value   := NUMBER | STRING | true | false | null | none | undefined | empty
             | PATH | "{" value* "}" | "(" expr ")"
    OP      := = | == | != | < | <= | > | >=

``PATH`` is a dotted name such as ``slots.amount`` or ``context.reason`` (a bare name means
``slots.<name>``). Inside a string a backslash only escapes a quote, so regular expressions
keep theirs (``"^\\d{4}$"``). Evaluation semantics are in ``condition_nodes``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from telephonist.dialogue.condition_nodes import (
    COMPARE,
    EMPTY,
    Bool,
    Compare,
    Contains,
    Literal,
    Matches,
    Node,
    Not,
    Path,
    SetLiteral,
    truthy,
)

__all__ = ["Condition", "ConditionSyntaxError", "parse_condition"]


class ConditionSyntaxError(ValueError):
    """The condition text does not follow the grammar above."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>-?\d+(?:\.\d+)?)
      | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op><=|>=|==|!=|=|<|>|\(|\)|\{|\}|,)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    )""",
    re.VERBOSE,
)
_CONSTANTS: dict[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    "none": None,
    "undefined": None,
    "empty": EMPTY,
}
_KEYWORDS = {"and", "or", "not", "is", "contains", "matches", *_CONSTANTS}
OPERATORS = ("and", "or", "not", "is", "is not", "contains", "matches", *COMPARE)


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed condition; ``evaluate`` takes ``{"slots": {...}, "context": {...}}``."""

    text: str
    root: Node

    def evaluate(self, scope: Mapping[str, Any]) -> bool:
        """True when the condition holds for the given slots/context."""
        return truthy(self.root.eval(scope))

    def slot_names(self) -> set[str]:
        """The slot names the condition reads (for `telephonist check`)."""
        return {p[1] for p in self.root.paths() if len(p) >= 2 and p[0] == "slots"}

    def namespaces(self) -> set[str]:
        """The first part of every path it reads (``slots``, ``context``, ...)."""
        return {p[0] for p in self.root.paths()}


def _unquote(text: str) -> str:
    """A string token's value: a backslash escapes only a quote (regexes keep theirs)."""
    return re.sub(r"\\([\"'])", r"\1", text[1:-1])


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = list(_tokens(text))
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def accept(self, *values: str) -> str | None:
        token = self.peek()
        if token is not None and token[0] in ("op", "kw") and token[1] in values:
            self.pos += 1
            return token[1]
        return None

    def parse(self) -> Node:
        node = self.expr()
        token = self.peek()
        if token is not None:
            raise self.unexpected(token)
        return node

    def unexpected(self, token: tuple[str, str]) -> ConditionSyntaxError:
        kind, text = token
        if kind == "name":
            return ConditionSyntaxError(
                f"operator {text!r} is not supported (supported: {', '.join(OPERATORS)})"
            )
        return ConditionSyntaxError(f"unexpected {text!r}")

    def expr(self) -> Node:
        items = [self.conj()]
        while self.accept("or"):
            items.append(self.conj())
        return items[0] if len(items) == 1 else Bool("or", tuple(items))

    def conj(self) -> Node:
        items = [self.neg()]
        while self.accept("and"):
            items.append(self.neg())
        return items[0] if len(items) == 1 else Bool("and", tuple(items))

    def neg(self) -> Node:
        if self.accept("not"):
            return Not(self.neg())
        return self.compare()

    def compare(self) -> Node:
        left = self.value()
        if self.accept("is"):
            negate = self.accept("not") is not None
            return Compare("!=" if negate else "=", left, self.value())
        if self.accept("contains"):
            return Contains(left, self.value())
        if self.accept("matches"):
            return Matches(left, self.regex())
        op = self.accept(*COMPARE)
        if op is not None:
            return Compare(op, left, self.value())
        return left

    def regex(self) -> re.Pattern[str]:
        token = self.peek()
        if token is None or token[0] != "str":
            raise ConditionSyntaxError("'matches' needs a quoted regular expression")
        self.pos += 1
        try:
            return re.compile(_unquote(token[1]))
        except re.error as exc:
            raise ConditionSyntaxError(f"bad regular expression {token[1]}: {exc}") from None

    def value(self) -> Node:
        token = self.peek()
        if token is None:
            raise ConditionSyntaxError("unexpected end of condition")
        self.pos += 1
        kind, text = token
        if kind == "num":
            return Literal(float(text) if "." in text else int(text))
        if kind == "str":
            return Literal(_unquote(text))
        if kind == "kw" and text in _CONSTANTS:
            return Literal(_CONSTANTS[text])
        if kind == "op" and text == "(":
            node = self.expr()
            if not self.accept(")"):
                token = self.peek()
                raise self.unexpected(token) if token else ConditionSyntaxError("missing ')'")
            return node
        if kind == "op" and text == "{":
            return self.set_literal()
        if kind == "name":
            parts = tuple(text.split("."))
            return Path(parts if len(parts) > 1 else ("slots", *parts))
        raise ConditionSyntaxError(f"unexpected {text!r}")

    def set_literal(self) -> Node:
        items: list[Any] = []
        while not self.accept("}"):
            if self.accept(","):
                continue
            item = self.value()
            if not isinstance(item, Literal):
                raise ConditionSyntaxError("a set {...} may only hold literal values")
            items.append(item.value)
        return SetLiteral(tuple(items))


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ConditionSyntaxError(f"cannot read {text[pos:].strip()[:20]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "name" and value.lower() in _KEYWORDS:
            yield "kw", value.lower()
        else:
            yield kind, value


def parse_condition(text: str | bool) -> Condition:
    """Parse condition ``text``; raises ConditionSyntaxError with a short reason."""
    if isinstance(text, bool):
        return Condition(str(text).lower(), Literal(text))
    if not isinstance(text, str) or not text.strip():
        raise ConditionSyntaxError("a condition must be a non-empty string")
    return Condition(text, _Parser(text).parse())
