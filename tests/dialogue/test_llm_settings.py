"""The command generator's settings as Rasa Pro writes them, and what `check` says about
them: every problem located, no key ever shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephonist.dialogue.llm_settings import GeneratorSettings, read_generator
from telephonist.dialogue.project import read_project
from telephonist.dialogue.source import Problem, Problems, parse_document

GROUP = """model_groups:
  - id: fast
    models:
      - provider: self-hosted
        model: qwen
        api_base: http://gpu-box:8000/v1
        max_tokens: 64
      - provider: openai
        model: gpt-4o-mini
"""


def read(
    config: str, endpoints: str = "", tmp_path: Path | None = None, **environ: str
) -> tuple[GeneratorSettings | None, list[Problem]]:
    """The settings and problems for config.yml / endpoints.yml texts (OPENAI_API_KEY set
    unless given)."""
    problems = Problems()
    config_doc = parse_document(config, "config.yml", problems)
    endpoints_doc = parse_document(endpoints, "endpoints.yml", problems) if endpoints else None
    root = tmp_path or Path(".")
    environ = {"OPENAI_API_KEY": "k", **environ}
    return read_generator(config_doc, endpoints_doc, root, environ, problems), problems.items


def entry(body: str, name: str = "CompactLLMCommandGenerator") -> str:
    """A config.yml with one generator entry (``body`` indented under it)."""
    indented = "".join(f"    {line}\n" for line in body.splitlines())
    return f"pipeline:\n  - name: {name}\n{indented}"


def test_a_model_group_is_resolved_in_order() -> None:
    """llm: {model_group: ID} takes the group's models, first first; the model's extra
    keys become request parameters over our defaults."""
    settings, problems = read(entry("llm:\n  model_group: fast"), GROUP)
    assert problems == []
    assert settings is not None
    first, second = settings.models
    assert (first.provider, first.model, first.api_base) == (
        "self-hosted",
        "qwen",
        "http://gpu-box:8000/v1",
    )
    assert first.params == {"temperature": 0.0, "max_tokens": 64}
    assert (second.provider, second.model, second.api_base) == ("openai", "gpt-4o-mini", None)
    assert (settings.timeout, settings.nlu_confidence, settings.nlu_first) == (3.0, 0.8, True)


def test_an_inline_llm_with_rasas_older_key_names() -> None:
    """An inline llm: block; type/model_name/request_timeout are read as provider/model/
    timeout; the generator's own timeout, nlu_confidence and minimize_num_calls are read."""
    settings, problems = read(
        entry(
            "llm:\n  type: openai\n  model_name: gpt-4\n  request_timeout: 7\n"
            "timeout: 1.5\nnlu_confidence: 0.95\nminimize_num_calls: false",
            name="SingleStepLLMCommandGenerator",
        )
    )
    assert problems == []
    assert settings is not None
    model = settings.models[0]
    assert (model.provider, model.model, model.timeout) == ("openai", "gpt-4", 7.0)
    assert (settings.timeout, settings.nlu_confidence, settings.nlu_first) == (1.5, 0.95, False)


def test_no_llm_block_means_rasas_default_model() -> None:
    """Without llm:, OpenAI's gpt-4o as in Rasa, with a warning saying so."""
    settings, problems = read(entry("prompt_template: null"))
    assert settings is not None and settings.models[0].provider == "openai"
    assert [(p.key, p.severity) for p in problems] == [("pipeline[0].llm", "warning")]


@pytest.mark.parametrize(
    ("config", "endpoints", "key", "message"),
    [
        (
            entry("llm:\n  model_group: slow"),
            GROUP,
            "pipeline[0].llm.model_group",
            "no model group with id 'slow'",
        ),
        (
            entry("llm:\n  provider: anthropic\n  model: claude"),
            "",
            "pipeline[0].llm.provider",
            "provider 'anthropic' is not supported",
        ),
        (
            entry("llm:\n  model: x"),
            "",
            "pipeline[0].llm.provider",
            "missing: one of openai, azure, self-hosted, ollama",
        ),
        (
            entry("llm:\n  provider: azure\n  model: gpt-4o"),
            "",
            "pipeline[0].llm.deployment",
            "missing: the Azure OpenAI deployment name",
        ),
        (
            entry("llm:\n  provider: self-hosted\n  model: m"),
            "",
            "pipeline[0].llm.api_base",
            "missing: the server's URL",
        ),
        (
            entry("llm:\n  provider: ollama"),
            "",
            "pipeline[0].llm.model",
            "missing: the model's name",
        ),
        (
            entry("llm:\n  model_group: fast\ntimeout: -1"),
            GROUP,
            "pipeline[0].timeout",
            "must be a positive number of seconds",
        ),
        (
            entry("llm:\n  model_group: fast\nnlu_confidence: 3"),
            GROUP,
            "pipeline[0].nlu_confidence",
            "between 0 and 1",
        ),
        (
            entry("llm:\n  model_group: fast\nprompt_template: prompts/nope.jinja2"),
            GROUP,
            "pipeline[0].prompt_template",
            "cannot read prompts/nope.jinja2",
        ),
    ],
)
def test_problems_are_located(config: str, endpoints: str, key: str, message: str) -> None:
    """Each bad setting is an error naming its key."""
    _, problems = read(config, endpoints)
    errors = [p for p in problems if p.severity == "error"]
    assert len(errors) == 1, problems
    assert (errors[0].key, errors[0].file) == (key, "config.yml") and message in errors[0].message


def test_a_broken_prompt_template_names_its_line(tmp_path: Path) -> None:
    """A Jinja syntax error in the project's template: file and template line."""
    (tmp_path / "p.jinja2").write_text("ok\n{% for f in available_flows %}\n")
    _, problems = read(entry("llm:\n  model_group: fast\nprompt: p.jinja2"), GROUP, tmp_path)
    assert len(problems) == 1
    assert "p.jinja2:2: invalid Jinja template" in problems[0].message


def test_keys_belong_in_the_environment() -> None:
    """A key written in the file is a warning (not shown); an unset ${VAR} is a warning
    naming the variable; a set one is fine."""
    endpoints = GROUP.replace(
        "model: gpt-4o-mini", "model: gpt-4o-mini\n        api_key: sk-abc123secret"
    )
    _, problems = read(entry("llm:\n  model_group: fast"), endpoints)
    assert [(p.key, p.severity) for p in problems] == [
        ("model_groups[0].models[1].api_key", "warning")
    ]
    assert "sk-abc123secret" not in problems[0].message
    endpoints = GROUP.replace(
        "model: gpt-4o-mini", "model: gpt-4o-mini\n        api_key: ${MY_KEY}"
    )
    _, problems = read(entry("llm:\n  model_group: fast"), endpoints)
    assert len(problems) == 1 and "environment variable MY_KEY is not set" in problems[0].message
    _, problems = read(entry("llm:\n  model_group: fast"), endpoints, MY_KEY="x")
    assert problems == []


def test_a_hosted_model_without_its_key_variable_is_a_warning() -> None:
    """OpenAI without api_key and without OPENAI_API_KEY: a warning naming the variable."""
    _, problems = read(entry("llm:\n  provider: openai\n  model: m"), OPENAI_API_KEY="")
    assert [(p.key, p.severity) for p in problems] == [("pipeline[0].llm.api_key", "warning")]
    assert "OPENAI_API_KEY is not set" in problems[0].message


def test_a_key_never_shows_in_the_settings_repr() -> None:
    """The settings print without the key."""
    settings, _ = read(entry("llm:\n  provider: openai\n  model: m\n  api_key: ${K}"), K="v")
    assert settings is not None and "${K}" not in repr(settings)


def test_no_generator_no_settings(tmp_path: Path) -> None:
    """A pipeline without an LLM generator reads as no generator; the project has none."""
    settings, problems = read("pipeline:\n  - name: NLUCommandAdapter\n")
    assert (settings, problems) == (None, [])
    (tmp_path / "domain.yml").write_text("version: '3.1'\n")
    project, _ = read_project(tmp_path)
    assert project.llm is None
