"""Entity extraction without a trained tagger: regexes, lookup tables and the values annotated
in the training examples act as gazetteers; synonyms map what was said to a canonical value."""

from __future__ import annotations

import re
from dataclasses import dataclass

from telephonist.dialogue.model import NluData

__all__ = ["Entity", "EntityExtractor"]


@dataclass(frozen=True, slots=True)
class Entity:
    """An entity found in a message; ``value`` is after synonym mapping."""

    entity: str
    value: str
    start: int
    end: int
    extractor: str

    def as_dict(self) -> dict[str, object]:
        """Rasa's entity dict shape."""
        return {
            "entity": self.entity,
            "value": self.value,
            "start": self.start,
            "end": self.end,
            "extractor": self.extractor,
        }


class EntityExtractor:
    """Compiled patterns for one project's NLU data."""

    def __init__(self, data: NluData) -> None:
        self.synonyms = dict(data.synonyms)
        self.patterns: list[tuple[str, re.Pattern[str], str]] = []
        for entity, pattern in data.regexes:
            self.patterns.append((entity, re.compile(pattern, re.IGNORECASE), "regex"))
        gazetteer: dict[str, set[str]] = {}
        self.canonical: dict[str, str] = {}  # lower-case lookup entry → as written
        for entity, values in data.lookups.items():
            gazetteer.setdefault(entity, set()).update(v.lower() for v in values)
            self.canonical.update({v.lower(): v for v in values})
        for examples in data.examples.values():
            for example in examples:
                for start, end, entity, _ in example.entities:
                    gazetteer.setdefault(entity, set()).add(example.text[start:end].lower())
        for variant, value in self.synonyms.items():
            for names in gazetteer.values():
                if value.lower() in names:
                    names.add(variant)
        for entity, names in gazetteer.items():
            ordered = sorted((n for n in names if n.strip()), key=len, reverse=True)
            if ordered:
                alternation = "|".join(re.escape(n) for n in ordered)
                self.patterns.append(
                    (
                        entity,
                        re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE),
                        "lookup",
                    )
                )

    def extract(self, text: str) -> list[Entity]:
        """Non-overlapping entities, longest match first."""
        found: list[Entity] = []
        for entity, pattern, extractor in self.patterns:
            for match in pattern.finditer(text):
                if not match.group(0).strip():
                    continue
                raw = match.group(0)
                value = self.synonyms.get(raw.lower()) or self.canonical.get(raw.lower(), raw)
                found.append(Entity(entity, value, match.start(), match.end(), extractor))
        found.sort(key=lambda e: (e.start, -(e.end - e.start)))
        kept: list[Entity] = []
        for item in found:
            if all(item.start >= k.end or item.end <= k.start for k in kept):
                kept.append(item)
        return kept
