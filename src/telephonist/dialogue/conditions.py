"""A small, safe condition language for flow branches, rejections and response conditions.

Grammar (case-insensitive keywords)::

    expr    := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := value (OP value | "is" ["not"] ("null" | "none") | "contains" value)?
    value   := NUMBER | STRING | true | false | null | PATH | "(" expr ")"
    OP      := = | == | != | < | <= | > | >=

``PATH`` is a dotted name such as ``slots.amount`` (a bare name means ``slots.<name>``).
The text is parsed once into a tree of frozen nodes; evaluation never calls ``eval``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Condition", "ConditionSyntaxError", "parse_condition"]


class ConditionSyntaxError(ValueError):
    """The condition text does not follow the grammar above."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>-?\d+(?:\.\d+)?)
      | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op><=|>=|==|!=|=|<|>|\(|\))
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "is", "null", "none", "true", "false", "contains"}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True, slots=True)
class _Literal:
    value: Any

    def eval(self, scope: Mapping[str, Any]) -> Any:
        return self.value

    def paths(self) -> Iterator[tuple[str, ...]]:
        return iter(())


@dataclass(frozen=True, slots=True)
class _Path:
    parts: tuple[str, ...]

    def eval(self, scope: Mapping[str, Any]) -> Any:
        value: Any = scope
        for part in self.parts:
            if not isinstance(value, Mapping):
                return None
            value = value.get(part)
        return value

    def paths(self) -> Iterator[tuple[str, ...]]:
        yield self.parts


@dataclass(frozen=True, slots=True)
class _Not:
    operand: _Node

    def eval(self, scope: Mapping[str, Any]) -> Any:
        return not _truthy(self.operand.eval(scope))

    def paths(self) -> Iterator[tuple[str, ...]]:
        return self.operand.paths()


@dataclass(frozen=True, slots=True)
class _Bool:
    op: str  # "and" | "or"
    operands: tuple[_Node, ...]

    def eval(self, scope: Mapping[str, Any]) -> Any:
        if self.op == "and":
            return all(_truthy(o.eval(scope)) for o in self.operands)
        return any(_truthy(o.eval(scope)) for o in self.operands)

    def paths(self) -> Iterator[tuple[str, ...]]:
        for operand in self.operands:
            yield from operand.paths()


@dataclass(frozen=True, slots=True)
class _Compare:
    op: str
    left: _Node
    right: _Node

    def eval(self, scope: Mapping[str, Any]) -> Any:
        left, right = self.left.eval(scope), self.right.eval(scope)
        if self.op == "is null":
            return left is None
        if self.op == "is not null":
            return left is not None
        if self.op == "contains":
            try:
                return right in left
            except TypeError:
                return False
        left, right = _coerce(left, right)
        if left is None or right is None:
            return self.op == "!=" if (left is None) != (right is None) else self.op in ("=", "==")
        try:
            return _COMPARE[self.op](left, right)
        except TypeError:
            return False

    def paths(self) -> Iterator[tuple[str, ...]]:
        yield from self.left.paths()
        yield from self.right.paths()


_Node = _Literal | _Path | _Not | _Bool | _Compare


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "no", "0")
    return bool(value)


def _coerce(left: Any, right: Any) -> tuple[Any, Any]:
    """Compare numbers with numbers and strings case-insensitively, as slot values vary."""
    if isinstance(left, int | float) and not isinstance(left, bool) and isinstance(right, str):
        try:
            return left, float(right)
        except ValueError:
            return str(left), right
    if isinstance(right, int | float) and not isinstance(right, bool) and isinstance(left, str):
        try:
            return float(left), right
        except ValueError:
            return left, str(right)
    if isinstance(left, str) and isinstance(right, str):
        return left.lower(), right.lower()
    return left, right


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed condition; ``evaluate`` takes ``{"slots": {...}, ...}``."""

    text: str
    root: _Node

    def evaluate(self, scope: Mapping[str, Any]) -> bool:
        """True when the condition holds for the given slots/context."""
        return _truthy(self.root.eval(scope))

    def slot_names(self) -> set[str]:
        """The slot names the condition reads (for `telephonist check`)."""
        return {p[1] for p in self.root.paths() if len(p) >= 2 and p[0] == "slots"}


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

    def parse(self) -> _Node:
        node = self.expr()
        if self.peek() is not None:
            raise ConditionSyntaxError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def expr(self) -> _Node:
        items = [self.conj()]
        while self.accept("or"):
            items.append(self.conj())
        return items[0] if len(items) == 1 else _Bool("or", tuple(items))

    def conj(self) -> _Node:
        items = [self.neg()]
        while self.accept("and"):
            items.append(self.neg())
        return items[0] if len(items) == 1 else _Bool("and", tuple(items))

    def neg(self) -> _Node:
        if self.accept("not"):
            return _Not(self.neg())
        return self.compare()

    def compare(self) -> _Node:
        left = self.value()
        if self.accept("is"):
            negate = self.accept("not") is not None
            if not self.accept("null", "none"):
                raise ConditionSyntaxError("expected 'null' after 'is'")
            return _Compare("is not null" if negate else "is null", left, _Literal(None))
        if self.accept("contains"):
            return _Compare("contains", left, self.value())
        op = self.accept(*_COMPARE)
        if op is not None:
            return _Compare(op, left, self.value())
        return left

    def value(self) -> _Node:
        token = self.peek()
        if token is None:
            raise ConditionSyntaxError("unexpected end of condition")
        self.pos += 1
        kind, text = token
        if kind == "num":
            return _Literal(float(text) if "." in text else int(text))
        if kind == "str":
            return _Literal(re.sub(r"\\(.)", r"\1", text[1:-1]))
        if kind == "kw" and text in ("true", "false"):
            return _Literal(text == "true")
        if kind == "kw" and text in ("null", "none"):
            return _Literal(None)
        if kind == "op" and text == "(":
            node = self.expr()
            if not self.accept(")"):
                raise ConditionSyntaxError("missing ')'")
            return node
        if kind == "name":
            parts = tuple(text.split("."))
            return _Path(parts if len(parts) > 1 else ("slots", *parts))
        raise ConditionSyntaxError(f"unexpected {text!r}")


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
        return Condition(str(text).lower(), _Literal(text))
    if not isinstance(text, str) or not text.strip():
        raise ConditionSyntaxError("a condition must be a non-empty string")
    return Condition(text, _Parser(text).parse())
