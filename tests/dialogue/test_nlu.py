"""Intent classification, entity extraction and the trained-model cache."""

from __future__ import annotations

from pathlib import Path

from telephonist.dialogue.classifier import IntentClassifier, load_or_train
from telephonist.dialogue.nlu import FALLBACK_INTENT, Interpreter
from telephonist.dialogue.nlu_data import parse_annotated
from telephonist.dialogue.project import Project


def test_annotations_are_stripped_and_located() -> None:
    """Both annotation styles give plain text plus entity spans and values."""
    example, errors = parse_annotated(
        'fly to [Berlin](city) from [Paris]{"entity": "city", "value": "PAR"}'
    )
    assert errors == []
    assert example.text == "fly to Berlin from Paris"
    assert example.entities == ((7, 13, "city", "Berlin"), (19, 24, "city", "PAR"))
    _, bad = parse_annotated("[x]{not json}")
    assert bad and "bad entity annotation" in bad[0]


def test_unseen_paraphrases_classify(starter: Project) -> None:
    """Paraphrases not in the training data still get the right intent."""
    nlu = Interpreter(starter.nlu, starter.config.fallback_threshold)
    cases = {
        "I'd like to know where my package is": "check_order_status",
        "could you put me through to an operator": "human_handoff",
        "I think I was overcharged on my bill": "billing",
        "bye bye": "goodbye",
        "I want to make an appointment": "book_appointment",
    }
    for text, intent in cases.items():
        assert nlu.parse(text).intent == intent, text


def test_gibberish_falls_back(starter: Project) -> None:
    """Text unlike any intent is nlu_fallback."""
    nlu = Interpreter(starter.nlu, starter.config.fallback_threshold)
    assert nlu.parse("purple elephants sing loudly").intent == FALLBACK_INTENT


def test_slash_intent_and_exact_match(starter: Project) -> None:
    """'/greet' selects the intent; a training example scores 1.0."""
    nlu = Interpreter(starter.nlu, 0.3, extra_intents=("greet",))
    assert nlu.parse("/greet").intent == "greet"
    assert nlu.parse("Where is my order?").confidence == 1.0


def test_entities_from_regex_lookup_and_synonym(starter: Project) -> None:
    """Regex, lookup table and synonym all yield entities with canonical values."""
    nlu = Interpreter(starter.nlu, 0.3)
    found = {(e.entity, e.value) for e in nlu.parse("order 12345 on wensday or Friday").entities}
    assert found == {("order_number", "12345"), ("weekday", "wednesday"), ("weekday", "friday")}


def test_model_cache_reused_and_keyed_by_data(tmp_path: Path) -> None:
    """A second load reads the pickle; changed data trains a new model."""
    data = {"a": ["hello there", "hi"], "b": ["bye now", "goodbye"]}
    first = load_or_train(data, tmp_path)
    files = list(tmp_path.glob("nlu-*.pkl"))
    assert len(files) == 1
    again = load_or_train(data, tmp_path)
    assert again is not first and again.rank("hello")[0][0] == "a"
    load_or_train({**data, "c": ["thanks", "thank you"]}, tmp_path)
    assert list(tmp_path.glob("nlu-*.pkl")) != files


def test_corrupt_cache_is_retrained(tmp_path: Path) -> None:
    """An unreadable cache file is replaced instead of failing start-up."""
    data = {"a": ["hello there", "hi"], "b": ["bye now", "goodbye"]}
    load_or_train(data, tmp_path)
    next(tmp_path.glob("nlu-*.pkl")).write_bytes(b"garbage")
    assert isinstance(load_or_train(data, tmp_path), IntentClassifier)
