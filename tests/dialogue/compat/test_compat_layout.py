"""Rasa's project layout: domain.yml plus a domain/ directory merged as Rasa merges it,
data/ read at any depth, .yaml beside .yml."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.compat_support import Caller

from telephonist.dialogue.project import check_project, load_project


def test_domain_files_and_nested_data_make_one_project(
    compat_project: Callable[[str], Path],
) -> None:
    """Intents are united in order, slots and responses come from every domain file, and a
    flow three directories deep under data/ runs."""
    project = load_project(compat_project("split_layout"))
    assert project.language == "de"  # config.yaml
    assert project.domain.intents == ("greet", "renew")
    assert project.domain.slots["card_number"].file == "domain/core/slots.yml"
    assert project.domain.responses["utter_renewed"].file == "domain/core/more/responses.yaml"
    assert project.domain.session_expiration_minutes == 30
    assert project.domain.carry_over_slots is False
    caller = Caller(project)
    assert caller.call() == ["Guten Tag, Stadtbibliothek."]
    assert caller.say("Bücher verlängern") == ["Welche Ausweisnummer?"]
    assert caller.say("A-4711")[0] == "Verlängert für Ausweis A-4711."


def test_duplicates_keep_the_first_definition_and_warn(
    compat_project: Callable[[str], Path],
) -> None:
    """A response defined twice keeps domain.yml's text; the second file gets a warning,
    and a flows file inside domain/ is skipped with a hint. A README in data/ is not
    training data."""
    problems = check_project(compat_project("split_layout"))
    assert all(p.severity == "warning" for p in problems)
    found = {(p.file, p.key): p.message for p in problems}
    assert found[("domain/duplicate.yml", "responses.utter_greet")] == (
        "also defined in domain.yml; the definition there is used"
    )
    assert "move it to data/" in found[("domain/notes.yml", "")]
    assert not any(p.file.endswith("README.md") for p in problems)
