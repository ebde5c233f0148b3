"""The LLM command generator's settings, read as Rasa Pro writes them: the generator's
``config.yml`` pipeline entry (``llm: {model_group: ID}`` or an inline ``llm:``) and the
``model_groups`` of ``endpoints.yml``, checked with located problems.

Every provider is spoken to as an OpenAI-compatible chat-completions API, so only providers
that serve one are accepted (``openai``, ``azure``, ``self-hosted`` for vLLM, llama.cpp's
server or any gateway, ``ollama``). API keys stay as written (``${VAR}``) and are read from
the environment when the client is built; no key is ever shown in a problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from telephonist.config.yamlfile import interpolate
from telephonist.dialogue.config_loader import LLM_COMMAND_GENERATORS
from telephonist.dialogue.fields import number
from telephonist.dialogue.source import Document, KeyPath, Problems
from telephonist.errors import ConfigError

__all__ = [
    "DEFAULT_KEY_VARIABLES",
    "PROVIDERS",
    "GeneratorSettings",
    "ModelSettings",
    "read_generator",
]

PROVIDERS = ("openai", "azure", "self-hosted", "ollama")
DEFAULT_KEY_VARIABLES = {
    "openai": "OPENAI_API_KEY",
    "azure": "AZURE_API_KEY",
    "self-hosted": "SELF_HOSTED_API_KEY",
    "ollama": "OLLAMA_API_KEY",
}
_ALIASES = {"type": "provider", "model_name": "model", "request_timeout": "timeout"}
_ALIASES |= {"openai_api_base": "api_base", "openai_api_version": "api_version"}
_ALIASES |= {"deployment_name": "deployment", "engine": "deployment"}
# Keys that shape the request rather than being sent in its body.
_CLIENT_KEYS = {"provider", "model", "api_base", "api_key", "api_version", "deployment"}
_CLIENT_KEYS |= {"timeout", "api_type", "use_chat_completions_endpoint", "stream", "n"}
_RASA_DEFAULT_MODEL = {"provider": "openai", "model": "gpt-4o-2024-11-20"}
DEFAULT_PARAMS = {"temperature": 0.0, "max_tokens": 256}


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """One model deployment. ``api_key`` is as written (usually ``${VAR}``; None: the
    provider's variable, see ``DEFAULT_KEY_VARIABLES``); ``params`` go into the request
    body (temperature, max_tokens, top_p, ...); ``where`` names it in messages."""

    provider: str
    model: str
    api_base: str | None = None
    api_version: str | None = None
    deployment: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    where: str = ""


@dataclass(frozen=True, slots=True)
class GeneratorSettings:
    """The generator entry: its models (the first is asked; the others if it fails before
    answering), the project's own prompt template (replaces ours), the per-turn
    ``timeout`` (seconds) and the ``nlu_confidence`` above which the NLU decides alone."""

    component: str
    models: tuple[ModelSettings, ...]
    prompt_template: str | None = None
    prompt_file: str | None = None
    timeout: float = 3.0
    nlu_confidence: float = 0.8
    nlu_first: bool = True  # Rasa's ``minimize_num_calls``


def _entry(doc: Document) -> tuple[int, dict[str, Any]] | None:
    """The index and mapping of the first LLM command generator in the pipeline."""
    pipeline = doc.data.get("pipeline") if isinstance(doc.data, dict) else None
    for i, item in enumerate(pipeline if isinstance(pipeline, list) else ()):
        if isinstance(item, dict) and item.get("name") in LLM_COMMAND_GENERATORS:
            return i, item
    return None


def _seconds(doc: Document, problems: Problems, path: KeyPath, value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        problems.add(doc, path, "must be a positive number of seconds")
        return default
    return float(value)


def _text(doc: Document, problems: Problems, path: KeyPath, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool) or value == "":
        problems.add(doc, path, "must be a string")
        return None
    return str(value)


def _check_variables(
    doc: Document, problems: Problems, path: KeyPath, value: str, environ: Mapping[str, str]
) -> None:
    """A ``${VAR}`` that is not set is a warning: ``check`` may run without the secrets."""
    try:
        interpolate(value, environ, file="")
    except ConfigError as exc:
        problems.add(doc, path, f"{exc}; set it before `run`", "warning")


def read_model(
    doc: Document,
    problems: Problems,
    path: KeyPath,
    raw: Mapping[str, Any],
    environ: Mapping[str, str],
) -> ModelSettings | None:
    """One model (a model group's entry or an inline ``llm:``)."""
    data = {_ALIASES.get(str(k), str(k)): v for k, v in raw.items()}
    if data.get("api_type") == "azure" or (data.get("deployment") and "provider" not in data):
        data.setdefault("provider", "azure")
    provider = data.get("provider")
    if provider not in PROVIDERS:
        supported = ", ".join(PROVIDERS)
        problems.add(
            doc,
            (*path, "provider"),
            f"provider {provider!r} is not supported: the command generator speaks the "
            f"OpenAI-compatible chat-completions API ({supported}; another OpenAI-compatible "
            "server works as self-hosted with its api_base)"
            if provider is not None
            else f"missing: one of {supported}",
        )
        return None
    texts = {
        key: _text(doc, problems, (*path, key), data.get(key))
        for key in ("model", "api_base", "api_version", "deployment", "api_key")
    }
    if provider == "azure" and texts["deployment"] is None:
        problems.add(doc, (*path, "deployment"), "missing: the Azure OpenAI deployment name")
        return None
    model = texts["model"] or texts["deployment"]
    if model is None:
        problems.add(doc, (*path, "model"), "missing: the model's name")
        return None
    if provider == "self-hosted" and texts["api_base"] is None:
        problems.add(
            doc, (*path, "api_base"), "missing: the server's URL, e.g. http://host:8000/v1"
        )
        return None
    if data.get("use_chat_completions_endpoint") is False:
        message = "false is not supported: the chat-completions endpoint is always used"
        problems.add(doc, (*path, "use_chat_completions_endpoint"), message, "warning")
    key = texts["api_key"]
    if key is not None and "${" not in key:
        message = "an API key written in the file; use ${VARIABLE} and the environment"
        problems.add(doc, (*path, "api_key"), message, "warning")
    for name in ("api_key", "api_base", "api_version"):
        if texts[name] is not None:
            _check_variables(doc, problems, (*path, name), str(texts[name]), environ)
    variable = DEFAULT_KEY_VARIABLES[str(provider)]
    if key is None and provider in ("openai", "azure") and not environ.get(variable):
        message = f"no api_key, and {variable} is not set; set it before `run`"
        problems.add(doc, (*path, "api_key"), message, "warning")
    params = {k: v for k, v in data.items() if k not in _CLIENT_KEYS}
    return ModelSettings(
        provider=str(provider),
        model=model,
        api_base=texts["api_base"],
        api_version=texts["api_version"],
        deployment=texts["deployment"],
        api_key=key,
        timeout=_seconds(doc, problems, (*path, "timeout"), data.get("timeout"), 0.0) or None,
        params={**DEFAULT_PARAMS, **params},
        where=f"{doc.file}: {'.'.join(str(p) for p in path)}",
    )


def _group_models(
    config: Document,
    endpoints: Document | None,
    problems: Problems,
    path: KeyPath,
    group_id: Any,
    environ: Mapping[str, str],
) -> tuple[ModelSettings, ...]:
    groups = (
        endpoints.data.get("model_groups")
        if endpoints and isinstance(endpoints.data, dict)
        else None
    )
    for g, group in enumerate(groups if isinstance(groups, list) else ()):
        if not isinstance(group, dict) or group.get("id") != group_id:
            continue
        assert endpoints is not None
        models = group.get("models")
        if not isinstance(models, list) or not models:
            problems.add(endpoints, ("model_groups", g, "models"), "must be a list of models")
            return ()
        found = []
        for m, raw in enumerate(models):
            where = ("model_groups", g, "models", m)
            if not isinstance(raw, dict):
                problems.add(endpoints, where, "must be a mapping")
            elif (model := read_model(endpoints, problems, where, raw, environ)) is not None:
                found.append(model)
        return tuple(found)
    problems.add(config, path, f"no model group with id {group_id!r} in endpoints.yml model_groups")
    return ()


def _template(
    doc: Document, problems: Problems, path: KeyPath, root: Path, value: Any
) -> str | None:
    """The project's prompt template (a Jinja file, relative to the project)."""
    name = _text(doc, problems, path, value)
    if name is None:
        return None
    try:
        text = (root / name).read_text(encoding="utf-8")
    except OSError as exc:
        problems.add(doc, path, f"cannot read {name}: {exc.strerror}")
        return None
    try:
        jinja2.Environment().parse(text)
    except jinja2.TemplateSyntaxError as exc:
        problems.add(doc, path, f"{name}:{exc.lineno}: invalid Jinja template: {exc.message}")
        return None
    return text


def read_generator(
    config: Document | None,
    endpoints: Document | None,
    root: Path,
    environ: Mapping[str, str],
    problems: Problems,
) -> GeneratorSettings | None:
    """The LLM command generator configured in ``config.yml``, or None."""
    found = None if config is None else _entry(config)
    if config is None or found is None:
        return None
    i, entry = found
    base: KeyPath = ("pipeline", i)
    llm = entry.get("llm")
    if llm is None:
        message = "missing, so Rasa's default applies: OpenAI's gpt-4o with OPENAI_API_KEY"
        problems.add(config, (*base, "llm"), message, "warning")
        llm = dict(_RASA_DEFAULT_MODEL)
    if not isinstance(llm, dict):
        problems.add(config, (*base, "llm"), "must be {model_group: ID} or a model's settings")
        return None
    if "model_group" in llm:
        path = (*base, "llm", "model_group")
        models = _group_models(config, endpoints, problems, path, llm["model_group"], environ)
    else:
        model = read_model(config, problems, (*base, "llm"), llm, environ)
        models = () if model is None else (model,)
    if "prompt_templates" in entry:
        message = "not used: one prompt (prompt_template, or the built-in one) does both steps"
        problems.add(config, (*base, "prompt_templates"), message, "warning")
    key = "prompt_template" if "prompt_template" in entry else "prompt"
    template = _template(config, problems, (*base, key), root, entry.get(key))
    confidence = number(
        config, problems, (*base, "nlu_confidence"), entry.get("nlu_confidence"), 0.8
    )
    if not models:
        return None
    return GeneratorSettings(
        component=str(entry["name"]),
        models=models,
        prompt_template=template,
        prompt_file=str(entry[key]) if template is not None else None,
        timeout=_seconds(config, problems, (*base, "timeout"), entry.get("timeout"), 3.0),
        nlu_confidence=confidence,
        nlu_first=entry.get("minimize_num_calls", True) is not False,
    )
