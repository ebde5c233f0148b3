"""Does a message answer the question that waits, or change the topic?

An intent classifier is sure of itself on a single word: "checking" said to "Which account,
checking or savings?" scores 0.96 for an intent whose examples talk about checking
accounts. So the intent of another flow takes over a waiting question only when:

- the message is one of that intent's training examples, word for word; or
- the NLU is confident (``topic_change_confidence``) with a clear lead over the next intent
  (``topic_change_margin``), and the message is not mostly the question's own words: a
  caller who repeats an option the question offered (its text, the collect step's
  ``description``, a categorical slot's values) is answering it.
"""

from __future__ import annotations

from collections.abc import Mapping

from telephonist.dialogue.classifier import normalize
from telephonist.dialogue.model import CollectStep, Config, Domain, NluData
from telephonist.dialogue.nlu import ParsedMessage
from telephonist.dialogue.values import words

__all__ = ["TopicChange"]

_STOPWORDS = frozenset(
    "a an the i i'm im me my mine you your it it's its is are was be to of for in on at "
    "and or but so please thanks thank yes no ok okay um uh er well just one ones that this "
    "those these with from by do does did can could would will want like need".split()
)


def content_words(text: str) -> set[str]:
    """The words of ``text`` that carry meaning (lower case, no stopwords)."""
    return {w for w in words(text) if w not in _STOPWORDS and len(w) > 1}


class TopicChange:
    """Decides, for one project, whether a message leaves a waiting question."""

    def __init__(self, config: Config, domain: Domain, nlu: NluData) -> None:
        self.confidence = config.topic_change_confidence
        self.margin = config.topic_change_margin
        self.domain = domain
        self.examples: Mapping[str, frozenset[str]] = {
            intent: frozenset(normalize(e.text) for e in items)
            for intent, items in nlu.examples.items()
        }
        self._question_words: dict[int, frozenset[str]] = {}

    def question_words(self, step: CollectStep) -> frozenset[str]:
        """What the question offers: its texts, its description, the slot's values."""
        cached = self._question_words.get(id(step))
        if cached is None:
            texts = [step.description]
            response = self.domain.responses.get(step.utter)
            if response is not None:
                texts.extend(v.text for v in response.variations)
            slot = self.domain.slots.get(step.slot)
            if slot is not None:
                texts.extend(slot.values)
            cached = frozenset().union(*(content_words(t) for t in texts))
            self._question_words[id(step)] = cached
        return cached

    def leaves(self, step: CollectStep, parsed: ParsedMessage) -> bool:
        """True when the message is about another topic than the waiting question."""
        if parsed.intent is None:
            return False
        if normalize(parsed.text) in self.examples.get(parsed.intent, frozenset()):
            return True
        runner_up = parsed.ranking[1][1] if len(parsed.ranking) > 1 else 0.0
        if parsed.confidence < self.confidence or parsed.confidence - runner_up < self.margin:
            return False
        said = content_words(parsed.text)
        echoed = said & self.question_words(step)
        return bool(said) and len(echoed) * 2 <= len(said)
