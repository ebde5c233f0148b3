"""Loading and checking projects: every problem names file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephonist.dialogue.project import check_project, load_project
from telephonist.errors import ConfigError

DOMAIN = """\
intents: [greet]
slots:
  amount:
    type: float
responses:
  utter_greet:
    - text: "Hi {amount}"
  utter_ask_amount:
    - text: "How much?"
"""
NLU = """\
nlu:
  - intent: greet
    examples: |
      - hello
      - hi
"""
FLOWS = """\
flows:
  pay:
    description: pay
    nlu_trigger:
      - intent: greet
    steps:
      - collect: amount
        next:
          - if: slots.amount > 100
            then: big
          - else: END
      - id: big
        action: utter_greet
"""


def make(tmp_path: Path, domain: str = DOMAIN, flows: str = FLOWS, nlu: str = NLU) -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "domain.yml").write_text(domain)
    (tmp_path / "data" / "flows.yml").write_text(flows)
    (tmp_path / "data" / "nlu.yml").write_text(nlu)
    (tmp_path / "config.yml").write_text("language: de\n")
    return tmp_path


def test_valid_project_loads(tmp_path: Path) -> None:
    """A small correct project loads with its language, flows and examples."""
    project = load_project(make(tmp_path))
    assert project.language == "de"
    assert project.nlu_examples() == ("hello", "hi")
    assert "pay" in project.flows and "pattern_user_silence" in project.flows
    assert check_project(tmp_path) == []


def test_starter_project_checks_clean(starter_path: Path) -> None:
    """The starter has no problems at all, so `run` accepts it as created."""
    assert check_project(starter_path) == []


def test_unknown_response_slot_and_link(tmp_path: Path) -> None:
    """Unknown action, slot and link target are each reported with their flow line."""
    flows = FLOWS.replace("action: utter_greet", "action: utter_nope") + (
        "  other:\n    steps:\n      - collect: missing\n      - link: nowhere\n"
    )
    problems = check_project(make(tmp_path, flows=flows))
    text = [str(p) for p in problems]
    assert (
        "data/flows.yml:13: flows.pay.steps[big].action: unknown action 'utter_nope'; "
        "declare it as a response in the domain" in text
    )
    assert any(
        t.startswith("data/flows.yml:16: flows.other.steps[0].collect: unknown slot 'missing'")
        for t in text
    )
    assert any(t.startswith("data/flows.yml:17: flows.other.steps[1].link: no flow") for t in text)
    assert any("no response 'utter_ask_missing'" in t for t in text)


def test_bad_condition_and_bad_next(tmp_path: Path) -> None:
    """A syntax error in a condition and a dangling next target are located."""
    flows = FLOWS.replace("slots.amount > 100", "slots.amount >").replace("then: big", "then: bug")
    problems = check_project(make(tmp_path, flows=flows))
    messages = [str(p) for p in problems]
    assert any(
        m.startswith("data/flows.yml:9: flows.pay.steps[0].next[0].if: bad condition")
        for m in messages
    )


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    """Broken YAML is one problem with the file and line."""
    problems = check_project(make(tmp_path, domain="intents: [greet\nslots: {}\n"))
    broken = [p for p in problems if p.file == "domain.yml"]
    assert len(broken) == 1
    assert broken[0].line == 2
    assert "invalid YAML" in broken[0].message


def test_unknown_slot_type_and_placeholder(tmp_path: Path) -> None:
    """A slot type outside Rasa's is "not supported"; a {placeholder} that is no slot in a
    response a flow says itself is a warning (nothing can fill it there)."""
    domain = DOMAIN.replace("type: float", "type: money").replace("Hi {amount}", "Hi {who}")
    problems = check_project(make(tmp_path, domain=domain))
    assert any(
        str(p).startswith("domain.yml:4: slots.amount.type: slot type 'money' is not supported")
        for p in problems
    )
    placeholder = [p for p in problems if p.key == "responses.utter_greet[0].text"]
    assert [(p.line, p.severity) for p in placeholder] == [(7, "warning")]
    assert "{who} is not a slot" in placeholder[0].message


def test_unreachable_step_is_a_warning(tmp_path: Path) -> None:
    """A step no branch leads to is reported as a warning and the project still loads."""
    flows = FLOWS.replace("then: big", "then: END")
    problems = check_project(make(tmp_path, flows=flows))
    assert [(p.severity, p.key) for p in problems] == [("warning", "flows.pay.steps[big]")]
    load_project(tmp_path)


def test_dtmf_takes_at_most_one_of_length_and_finish_key(tmp_path: Path) -> None:
    """Setting both dtmf options is rejected, as in Rasa."""
    flows = FLOWS.replace(
        "- collect: amount", "- collect: amount\n        dtmf: {length: 2, finish_on_key: '#'}"
    )
    problems = check_project(make(tmp_path, flows=flows))
    assert any(p.key == "flows.pay.steps[0].dtmf" and "only one" in p.message for p in problems)


def test_load_raises_config_error_listing_all(tmp_path: Path) -> None:
    """load_project raises one ConfigError naming the first problem and counting the rest."""
    flows = FLOWS.replace("action: utter_greet", "action: utter_nope").replace(
        "intent: greet", "intent: unknown_intent"
    )
    with pytest.raises(ConfigError) as info:
        load_project(make(tmp_path, flows=flows))
    assert info.value.file == "data/flows.yml:4"
    assert "1 more" in str(info.value)
    assert "utter_nope" in str(info.value)


def test_nested_branch_steps_are_flattened(tmp_path: Path) -> None:
    """Steps inside then/else get ids and the flow ends when a branch runs out."""
    flows = FLOWS.replace("then: big", "then:\n              - action: utter_greet")
    project = load_project(
        make(tmp_path, flows=flows.replace("      - id: big\n        action: utter_greet\n", ""))
    )
    steps = project.flows["pay"].steps
    assert [s.id for s in steps] == ["0", "0.0.then.0"]
    assert steps[1].next[0].target == "END"


def test_tracker_store_values_take_environment_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``${VAR}`` in a tracker_store block (e.g. a Redis password) comes from the environment;
    an unset one is a problem naming the key."""
    make(tmp_path)
    (tmp_path / "endpoints.yml").write_text(
        "tracker_store:\n  type: redis\n  port: 6379\n  password: ${STORE_SECRET}\n"
    )
    monkeypatch.setenv("STORE_SECRET", "s3cret")
    store = load_project(tmp_path).endpoints.tracker_store
    assert store == {"type": "redis", "port": 6379, "password": "s3cret"}
    monkeypatch.delenv("STORE_SECRET")
    problems = [str(p) for p in check_project(tmp_path)]
    assert any(
        "tracker_store.password" in p and "STORE_SECRET is not set" in p for p in problems
    ), problems
