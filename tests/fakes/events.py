"""Call events for tests that feed a reader directly: only the fields a test cares about are
given, the rest take a blank value of their type."""

from __future__ import annotations

import sys
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, fields
from typing import Any, TypeVar, overload

from telephonist.call.events import CallEvent, EventKind

E = TypeVar("E", bound=CallEvent)

_BLANKS: dict[Any, Any] = {str: "", bool: False, int: 0, float: 0.0}


def _blank(hint: Any) -> Any:
    """A blank value of type ``hint``: None when allowed, else "", 0, (), {}..."""
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return None if type(None) in args else _blank(args[0])
    origin = typing.get_origin(hint) or hint
    if origin is tuple:
        return ()
    if origin is Mapping or origin is dict:
        return {}
    return _BLANKS[origin]


def make(cls: type[E], *, call_id: str = "CA1", at: float = 0.0, **given: Any) -> E:
    """An event of class ``cls`` with the ``given`` fields; required ones not given blank."""
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        if f.name not in given and f.default is MISSING and f.name not in ("call_id", "at"):
            given[f.name] = _blank(hints[f.name])
    return cls(call_id=call_id, at=at, **given)


def event_classes() -> list[type[CallEvent]]:
    """Every event class (each has its wire ``kind``); a ``slots`` dataclass replaces the
    class it was made from, which is skipped."""
    found: list[type[CallEvent]] = []
    pending = list(CallEvent.__subclasses__())
    while pending:
        cls = pending.pop(0)
        if getattr(sys.modules[cls.__module__], cls.__name__, None) is cls and cls not in found:
            found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


@overload
def of_kind(events: Iterable[CallEvent], kind: EventKind) -> list[CallEvent]: ...
@overload
def of_kind(events: Iterable[CallEvent], kind: type[E]) -> list[E]: ...
def of_kind(events: Iterable[CallEvent], kind: EventKind | type[E]) -> list[CallEvent] | list[E]:
    """The events of one kind, in order (given as a class: typed as that class)."""
    if isinstance(kind, EventKind):
        return [e for e in events if e.kind is kind]
    return [e for e in events if isinstance(e, kind)]
