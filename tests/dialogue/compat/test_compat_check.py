"""An honest `telephonist check`: what the built-in engine does not run is said plainly, the
root cause comes first and alone, and warnings do not fail the check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from telephonist.cli import main
from telephonist.dialogue.project import check_project, load_project

GATEWAY = 'assistant: {type: rasa, url: "http://localhost:5006"}'


def test_stories_rules_and_forms_point_to_the_rasa_gateway(
    compat_project: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """An assistant made of stories, rules and a form is one error that names them and says
    how to run it through Rasa; nothing else (its responses' {street} etc.) is noise."""
    path = compat_project("classic_stories")
    problems = check_project(path)
    assert len(problems) == 1
    error = problems[0]
    assert (error.severity, error.file) == ("error", "data/rules.yml")
    assert "rules (1, data/rules.yml)" in error.message
    assert "stories (1, data/stories.yml)" in error.message
    assert "forms (1, domain.yml)" in error.message
    assert GATEWAY in error.message and "--rasa-url" in error.message
    assert main(["check", str(path)]) == 1
    assert "1 error(s), 0 warning(s)" in capsys.readouterr().err


def test_coexistence_runs_the_flows_and_warns_about_the_rest(
    compat_project: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Flows beside rules and a form: warnings only, the project loads, check exits 0."""
    path = compat_project("coexistence")
    problems = check_project(path)
    assert [(p.severity, p.file) for p in problems] == [
        ("warning", "data/nlu_based/rules.yml"),
        ("warning", "domain.yml"),
    ]
    assert all("flows only" in p.message and GATEWAY in p.message for p in problems)
    assert "opening_hours" in load_project(path).flows
    assert main(["check", str(path)]) == 0  # and credentials.yml is missing: a third warning
    assert "0 error(s), 3 warning(s)" in capsys.readouterr().err


def test_markdown_training_data_is_an_error(compat_project: Callable[[str], Path]) -> None:
    """Rasa 2 Markdown NLU data and stories are reported as not supported, and alone."""
    problems = check_project(compat_project("markdown_nlu"))
    assert [(p.file, p.severity) for p in problems] == [
        ("data/nlu.md", "error"),
        ("data/stories.md", "error"),
    ]
    assert all("Markdown training data is not supported" in p.message for p in problems)


def test_flows_that_can_never_start_are_named(compat_project: Callable[[str], Path]) -> None:
    """Flows without nlu_trigger, link or call need a command generator: with config.yml's
    generator they can start; only a flow whose `if` is always false is named."""
    path = compat_project("llm_only")
    problems = check_project(path)
    assert all(p.severity == "warning" for p in problems)
    never = {p.key: p.message for p in problems if "can never start" in p.message}
    assert set(never) == {"flows.orphan"}
    assert "its `if` is always false" in never["flows.orphan"]


@pytest.mark.parametrize(
    ("edit", "reason", "error"),
    [
        (
            ("config.yml", "  - name: CompactLLMCommandGenerator", "  - name: NLUCommandAdapter"),
            "config.yml configures no LLM command generator",
            None,
        ),
        (
            ("endpoints.yml", "provider: self-hosted", "provider: anthropic"),
            "CompactLLMCommandGenerator has no usable model",
            "provider 'anthropic' is not supported",
        ),
    ],
)
def test_without_a_usable_generator_those_flows_are_named(
    compat_project: Callable[[str], Path],
    edit: tuple[str, str, str],
    reason: str,
    error: str | None,
) -> None:
    """No generator, or one whose model cannot be used: the flows only a model could
    start are named, with the reason (and the model's problem as an error)."""
    path = compat_project("llm_only")
    file = path / edit[0]
    file.write_text(file.read_text().replace(edit[1], edit[2], 1))
    problems = check_project(path)
    never = {p.key: p.message for p in problems if "can never start" in p.message}
    assert set(never) == {"flows.track_parcel", "flows.orphan"}
    assert reason in never["flows.track_parcel"]
    errors = [p for p in problems if p.severity == "error"]
    if error is None:
        assert errors == []
    else:
        assert len(errors) == 1 and error in errors[0].message
        assert (errors[0].file, errors[0].key) == (
            "endpoints.yml",
            "model_groups[0].models[0].provider",
        )


def test_what_a_command_generator_needs_is_read(compat_project: Callable[[str], Path]) -> None:
    """The generator's pipeline entry, the model groups, flow and collect descriptions and
    from_llm mappings are kept for the engine that runs an LLM."""
    project = load_project(compat_project("llm_only"))
    generator = project.config.command_generator
    assert generator is not None
    assert generator["llm"] == {"model_group": "local-llm"}
    assert generator["prompt_template"] == "prompts/commands.jinja2"
    assert project.endpoints.model_groups[0]["id"] == "local-llm"
    flow = project.flows["track_parcel"]
    assert (flow.title, flow.always_include_in_prompt) == ("tracking a parcel", True)
    step = next(s for s in flow.steps if getattr(s, "slot", None) == "parcel_id")
    assert "receipt" in step.description  # type: ignore[union-attr]
    assert project.domain.slots["parcel_id"].fills_from_llm()
    assert not project.domain.slots["verified"].fills_from_llm()


@pytest.mark.parametrize(
    ("edit", "key", "message"),
    [
        (("domain.yml", "type: text", "type: money"), "slots.dish.type", "slot type 'money' is "),
        (
            ("domain.yml", "type: from_llm", "type: from_regex"),
            "slots.dish.mappings[0].type",
            "mapping type 'from_regex' is not supported",
        ),
        (
            (
                "data/flows.yml",
                "      - collect: address",
                "      - collect: address\n"
                '        next:\n          - if: slots.dish in {"soup"}\n            then: END',
            ),
            "flows.order_food.steps[1].next[0].if",
            "operator 'in' is not supported",
        ),
    ],
)
def test_unsupported_constructs_are_named(
    compat_project: Callable[[str], Path], edit: tuple[str, str, str], key: str, message: str
) -> None:
    """A slot type, mapping type or condition operator outside Rasa's is "not supported"."""
    path = compat_project("digressions")
    file = path / edit[0]
    file.write_text(file.read_text().replace(edit[1], edit[2], 1))
    found = [p for p in check_project(path) if p.key == key]
    assert found and message in found[0].message and found[0].severity == "error"


def test_a_broken_file_is_the_only_problem_reported(compat_project: Callable[[str], Path]) -> None:
    """Broken YAML in the domain would make every flow's names unknown: only it is shown."""
    path = compat_project("voice_bank")
    (path / "domain" / "cards.yml").write_text("slots: [unclosed\n")
    problems = check_project(path)
    assert [(p.file, p.line) for p in problems] == [("domain/cards.yml", 2)]
    assert "invalid YAML" in problems[0].message


def test_no_domain_is_the_only_problem_reported(compat_project: Callable[[str], Path]) -> None:
    """Without any domain file the rest is not checked."""
    path = compat_project("voice_bank")
    (path / "domain.yml").unlink()
    for file in sorted((path / "domain").rglob("*"), reverse=True):
        file.unlink() if file.is_file() else file.rmdir()
    (path / "domain").rmdir()
    problems = check_project(path)
    assert [p.file for p in problems] == ["domain.yml"]
    assert "domain.yml, or YAML files under domain/" in problems[0].message


def test_a_placeholder_filled_by_a_custom_action_is_allowed(voice_bank_path: Path) -> None:
    """{total} and {count} in a response only a custom action says are not reported."""
    problems = check_project(voice_bank_path)
    assert not any("utter_statement_total" in p.key for p in problems)
    assert [p.key for p in problems] == ["flows.monthly_statement"]


@pytest.fixture
def voice_bank_path(compat_project: Callable[[str], Path]) -> Path:
    """A private copy of the voice-bank project."""
    return compat_project("voice_bank")


def test_a_pattern_override_inherits_only_triggers_the_project_can_use(
    compat_project: Callable[[str], Path],
) -> None:
    """Overriding pattern_cancel_flow in a project without a `cancel` intent is no error
    (the built-in trigger is simply not kept)."""
    path = compat_project("digressions")
    flows = path / "data" / "flows.yml"
    flows.write_text(
        flows.read_text()
        + "  pattern_cancel_flow:\n    description: stop\n    steps:\n"
        + "      - action: action_cancel_flow\n"
    )
    assert check_project(path) == []
    assert load_project(path).flows["pattern_cancel_flow"].triggers == ()
