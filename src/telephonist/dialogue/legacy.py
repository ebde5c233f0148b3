"""What the built-in engine does not run, said plainly: Rasa's stories, rules and forms
(NLU-based dialogue management), retrieval-intent responses and Markdown/JSON training data.

A project with no flows that uses them is an assistant for Rasa itself: the error says to run
it with Rasa and let Telephonist be its voice channel. A project with flows that also has
them (Rasa's coexistence of CALM and NLU-based dialogue) runs its flows here, and a warning
says what is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from telephonist.dialogue.source import Document, Problem

__all__ = [
    "GATEWAY_HINT",
    "LegacyUse",
    "find_legacy",
    "legacy_data_problem",
    "legacy_problems",
    "old_training_format",
]

GATEWAY_HINT = (
    "run the assistant with Rasa and use Telephonist as its voice channel: "
    'add `assistant: {type: rasa, url: "http://localhost:5006"}` to endpoints.yml '
    "(or start `telephonist run --rasa-url http://localhost:5006`)"
)
_MARKDOWN = re.compile(r"^##\s*(intent|synonym|regex|lookup|story|rule)\b", re.MULTILINE)
_MARKDOWN_STORY = re.compile(r"^##\s.+\n\*\s*\S+.*\n\s+-\s*\S+", re.MULTILINE)
_KINDS = {
    "stories": "stories",
    "rules": "rules",
    "responses": "retrieval-intent responses (ResponseSelector)",
}


@dataclass(frozen=True, slots=True)
class LegacyUse:
    """One kind of unsupported content and where it is (its first occurrence)."""

    kind: str
    file: str
    line: int | None
    count: int


def find_legacy(data_docs: Iterable[Document], forms: Mapping[str, str]) -> list[LegacyUse]:
    """Stories, rules and retrieval responses in the data files; forms in the domain."""
    found: dict[str, LegacyUse] = {}
    for doc in data_docs:
        data = doc.data if isinstance(doc.data, dict) else {}
        for key, kind in _KINDS.items():
            items = data.get(key)
            if not items:
                continue
            count = len(items) if isinstance(items, list | dict) else 1
            first = found.get(kind)
            if first is None:
                found[kind] = LegacyUse(kind, doc.file, doc.line((key,)), count)
            else:
                found[kind] = LegacyUse(kind, first.file, first.line, first.count + count)
    if forms:
        file = next(iter(forms.values()))
        found["forms"] = LegacyUse("forms", file, None, len(forms))
    return list(found.values())


def legacy_problems(uses: Iterable[LegacyUse], has_flows: bool) -> list[Problem]:
    """One error naming everything when the project has no flows; else a warning each."""
    uses = list(uses)
    if not uses:
        return []
    if not has_flows:
        first = uses[0]
        found = ", ".join(f"{u.kind} ({u.count}, {u.file})" for u in uses)
        message = (
            f"this assistant is written with {found}, which the built-in engine does not "
            f"run (it runs Rasa flows, CALM); {GATEWAY_HINT}"
        )
        return [Problem(first.file, first.line, "", message)]
    return [
        Problem(
            use.file,
            use.line,
            "",
            f"{use.kind} ({use.count}) are not run by the built-in engine, which runs the "
            f"flows only; for the NLU-based part, {GATEWAY_HINT}",
            "warning",
        )
        for use in uses
    ]


def old_training_format(path: Path) -> str | None:
    """ "Markdown" or "JSON" when the file holds Rasa 1.x/2.x training data (a README does
    not count), else None."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            head = handle.read(65536)
    except OSError:
        return None
    if path.suffix.lower() == ".json":
        return "JSON" if "rasa_nlu_data" in head else None
    markdown = _MARKDOWN.search(head) or _MARKDOWN_STORY.search(head)
    return "Markdown" if markdown else None


def legacy_data_problem(file: str, kind: str) -> Problem:
    """A Markdown or JSON training data file."""
    return Problem(
        file,
        None,
        "",
        f"{kind} training data is not supported (only YAML, as in Rasa 3); convert it with "
        "`rasa data convert nlu` or `rasa data convert core` (Rasa 2.x) or rewrite it as YAML",
    )
