"""Message understanding: intent (with fallback threshold) and entities for one utterance."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telephonist.dialogue.classifier import IntentClassifier, load_or_train
from telephonist.dialogue.entities import Entity, EntityExtractor
from telephonist.dialogue.model import NluData

__all__ = ["FALLBACK_INTENT", "Interpreter", "ParsedMessage"]

FALLBACK_INTENT = "nlu_fallback"


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """What NLU made of one message. ``intent`` is ``nlu_fallback`` below the threshold."""

    text: str
    intent: str | None
    confidence: float
    entities: tuple[Entity, ...] = ()
    ranking: tuple[tuple[str, float], ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """Rasa's ``parse_data`` shape."""
        return {
            "text": self.text,
            "intent": {"name": self.intent, "confidence": self.confidence},
            "entities": [e.as_dict() for e in self.entities],
            "intent_ranking": [{"name": n, "confidence": c} for n, c in self.ranking[:5]],
        }


class Interpreter:
    """Intent classifier plus entity extractor for one project."""

    def __init__(
        self,
        data: NluData,
        fallback_threshold: float,
        cache_dir: Path | None = None,
        extra_intents: tuple[str, ...] = (),
    ) -> None:
        examples = {name: [e.text for e in items] for name, items in data.examples.items()}
        self.classifier: IntentClassifier = load_or_train(examples, cache_dir)
        self.extractor = EntityExtractor(data)
        self.threshold = fallback_threshold
        self.known = set(examples) | set(extra_intents)

    def parse(self, text: str) -> ParsedMessage:
        """Classify ``text``; ``/intent_name`` selects an intent directly (as in Rasa)."""
        stripped = text.strip()
        if stripped.startswith("/") and stripped[1:] in self.known:
            return ParsedMessage(text, stripped[1:], 1.0, (), ((stripped[1:], 1.0),))
        ranking = tuple(self.classifier.rank(stripped))
        entities = tuple(self.extractor.extract(stripped))
        if not ranking:
            return ParsedMessage(text, None, 0.0, entities, ())
        intent, confidence = ranking[0]
        if confidence < self.threshold:
            return ParsedMessage(text, FALLBACK_INTENT, confidence, entities, ranking)
        return ParsedMessage(text, intent, confidence, entities, ranking)
