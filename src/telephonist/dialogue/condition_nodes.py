"""The evaluated tree of a flow condition: literals, slot paths and operators.

Semantics follow pypred, the library Rasa evaluates flow conditions with: ``is`` / ``is not``
are equality, ``contains`` is membership (``LEFT contains RIGHT``), ``matches`` searches a
regular expression in a string. Two deliberate differences make spoken values compare as a
caller means them: strings compare case-insensitively, and numeric strings compare as numbers.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "COMPARE",
    "EMPTY",
    "Bool",
    "Compare",
    "Contains",
    "Literal",
    "Matches",
    "Node",
    "Not",
    "Path",
    "SetLiteral",
    "truthy",
]


class _Empty:
    """pypred's ``empty``: equal to null and to anything of length zero."""

    def __eq__(self, other: object) -> bool:
        if other is None or isinstance(other, _Empty):
            return True
        try:
            return len(other) == 0  # type: ignore[arg-type]
        except TypeError:
            return False

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "empty"


EMPTY = _Empty()
COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def truthy(value: Any) -> bool:
    """A slot value as a condition: "false", "no" and "0" read as false, as a caller means."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "no", "0")
    if isinstance(value, _Empty):
        return False
    return bool(value)


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _coerce(left: Any, right: Any) -> tuple[Any, Any]:
    """Numbers with numbers, strings case-insensitively, as slot values vary."""
    if isinstance(left, int | float) and not isinstance(left, bool) and isinstance(right, str):
        try:
            return left, float(right)
        except ValueError:
            return str(left), right.lower()
    if isinstance(right, int | float) and not isinstance(right, bool) and isinstance(left, str):
        try:
            return float(left), right
        except ValueError:
            return left.lower(), str(right)
    return _fold(left), _fold(right)


@dataclass(frozen=True, slots=True)
class Literal:
    """A number, string, ``true``/``false``/``null`` or ``empty``."""

    value: Any

    def eval(self, scope: Mapping[str, Any]) -> Any:
        return self.value

    def paths(self) -> Iterator[tuple[str, ...]]:
        return iter(())


@dataclass(frozen=True, slots=True)
class SetLiteral:
    """``{"a" "b" 3}``: a set of literals, for ``contains``."""

    items: tuple[Any, ...]

    def eval(self, scope: Mapping[str, Any]) -> Any:
        return list(self.items)

    def paths(self) -> Iterator[tuple[str, ...]]:
        return iter(())


@dataclass(frozen=True, slots=True)
class Path:
    """``slots.amount`` or ``context.reason``; a missing part reads as null."""

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
class Not:
    """``not X``."""

    operand: Node

    def eval(self, scope: Mapping[str, Any]) -> Any:
        return not truthy(self.operand.eval(scope))

    def paths(self) -> Iterator[tuple[str, ...]]:
        return self.operand.paths()


@dataclass(frozen=True, slots=True)
class Bool:
    """``X and Y ...`` or ``X or Y ...``."""

    op: str
    operands: tuple[Node, ...]

    def eval(self, scope: Mapping[str, Any]) -> Any:
        if self.op == "and":
            return all(truthy(o.eval(scope)) for o in self.operands)
        return any(truthy(o.eval(scope)) for o in self.operands)

    def paths(self) -> Iterator[tuple[str, ...]]:
        for operand in self.operands:
            yield from operand.paths()


@dataclass(frozen=True, slots=True)
class Compare:
    """``=``, ``!=``, ``<`` ... (``is`` / ``is not`` arrive here as ``=`` / ``!=``)."""

    op: str
    left: Node
    right: Node

    def eval(self, scope: Mapping[str, Any]) -> Any:
        left, right = self.left.eval(scope), self.right.eval(scope)
        if isinstance(left, _Empty) or isinstance(right, _Empty):
            equal = left == right if isinstance(left, _Empty) else right == left
            return equal if self.op in ("=", "==") else not equal if self.op == "!=" else False
        left, right = _coerce(left, right)
        if left is None or right is None:
            same = (left is None) == (right is None)
            return same if self.op in ("=", "==") else not same if self.op == "!=" else False
        try:
            return COMPARE[self.op](left, right)
        except TypeError:
            return False

    def paths(self) -> Iterator[tuple[str, ...]]:
        yield from self.left.paths()
        yield from self.right.paths()


@dataclass(frozen=True, slots=True)
class Contains:
    """``LEFT contains RIGHT``: membership in a list or set, or a substring of a string."""

    left: Node
    right: Node

    def eval(self, scope: Mapping[str, Any]) -> Any:
        container, item = self.left.eval(scope), _fold(self.right.eval(scope))
        if isinstance(container, str):
            return isinstance(item, str) and item in container.lower()
        if isinstance(container, Mapping):
            return item in {_fold(k) for k in container}
        if isinstance(container, list | tuple | set | frozenset):
            return any(_coerce(member, item)[0] == _coerce(member, item)[1] for member in container)
        return False

    def paths(self) -> Iterator[tuple[str, ...]]:
        yield from self.left.paths()
        yield from self.right.paths()


@dataclass(frozen=True, slots=True)
class Matches:
    """``LEFT matches "regex"``: true when the pattern is found in the string value."""

    left: Node
    pattern: re.Pattern[str]

    def eval(self, scope: Mapping[str, Any]) -> Any:
        value = self.left.eval(scope)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(int(value)) if float(value).is_integer() else str(value)
        return isinstance(value, str) and self.pattern.search(value) is not None

    def paths(self) -> Iterator[tuple[str, ...]]:
        return self.left.paths()


Node = Literal | SetLiteral | Path | Not | Bool | Compare | Contains | Matches
