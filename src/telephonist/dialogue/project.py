"""An assistant project directory: read every file, merge the built-ins, check it.

Rasa's layout (see ``layout``): config.yml, endpoints.yml, domain.yml and/or domain/, and
data/ (``nlu:`` and ``flows:`` sections in any file, any depth). When a problem makes the
others follow-on noise — an unreadable file, no domain, an assistant made of stories and
rules — only that root cause is reported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from telephonist.dialogue.config_loader import read_config
from telephonist.dialogue.defaults import DEFAULT_RESPONSES, DEFAULT_SLOTS
from telephonist.dialogue.domain_loader import (
    DOMAIN_KEYS,
    merge_domains,
    read_domain,
    read_endpoints,
)
from telephonist.dialogue.flow_loader import read_flows
from telephonist.dialogue.layout import Layout, find_layout
from telephonist.dialogue.legacy import (
    LegacyUse,
    find_legacy,
    legacy_data_problem,
    legacy_problems,
    old_training_format,
)
from telephonist.dialogue.llm_settings import GeneratorSettings, read_generator
from telephonist.dialogue.model import Config, Domain, Endpoints, Flow, NluData
from telephonist.dialogue.nlu_data import merge_nlu, read_nlu
from telephonist.dialogue.patterns import default_patterns
from telephonist.dialogue.source import Document, Problem, Problems, load_document
from telephonist.errors import ConfigError

__all__ = ["Problem", "Project", "check_project", "load_project", "read_project"]

_DATA_KEYS = {"version", "nlu", "flows", "stories", "rules", "responses"}


@dataclass(frozen=True, slots=True)
class Project:
    """Everything the engine needs, read from one project directory."""

    path: Path
    config: Config
    domain: Domain
    flows: Mapping[str, Flow]
    nlu: NluData
    endpoints: Endpoints
    user_flow_ids: tuple[str, ...] = ()
    sources: Mapping[str, Document] = field(default_factory=dict)
    legacy: tuple[LegacyUse, ...] = ()
    llm: GeneratorSettings | None = None  # the LLM command generator, when configured

    @property
    def language(self) -> str:
        """The assistant's language code (``config.yml: language``)."""
        return self.config.language

    @property
    def cache_dir(self) -> Path:
        """Where trained models and the default SQLite store live."""
        return self.path / ".telephonist"

    def nlu_examples(self) -> tuple[str, ...]:
        """Every training utterance, e.g. to bias speech recognition towards them."""
        return tuple(e.text for items in self.nlu.examples.values() for e in items)


def _load(
    layout: Layout,
    path: Path | None,
    problems: Problems,
    *,
    environ: Mapping[str, str] | None = None,
) -> Document | None:
    """Parse one file; ``environ``: expand ``${VAR}`` (config.yml and endpoints.yml only, so
    response text can never pull in an environment value)."""
    if path is None:
        return None
    return load_document(path, layout.display(path), problems, environ)


def _domain_docs(layout: Layout, problems: Problems) -> list[Document]:
    """The parsed domain files; a file under domain/ without domain keys is skipped."""
    docs = []
    for path in layout.domain:
        doc = _load(layout, path, problems)
        if doc is None:
            continue
        keys = set(doc.data) if isinstance(doc.data, dict) else set()
        if doc.data is not None and not keys & DOMAIN_KEYS:
            where = "data/" if keys & {"flows", "nlu"} else "another directory"
            problems.add(doc, (), f"not a domain file (ignored); move it to {where}", "warning")
            continue
        docs.append(doc)
    return docs


def _root_causes(
    layout: Layout, unreadable: list[Problem], problems: Problems, has_data: bool
) -> list[Problem]:
    """Problems that make every other report noise: unreadable files, training data only in
    formats not read, no domain at all. Markdown files beside YAML ones are plain errors."""
    old_formats = [
        legacy_data_problem(layout.display(p), kind)
        for p in layout.legacy_data
        if (kind := old_training_format(p)) is not None
    ]
    if unreadable:
        return unreadable + old_formats
    if old_formats and not has_data:
        return old_formats
    if not layout.domain:
        return [
            Problem(
                "domain.yml",
                None,
                "",
                "missing: a project needs a domain (domain.yml, or YAML files under domain/)",
            )
        ]
    problems.items.extend(old_formats)
    return []


def _config_hint(layout: Layout) -> list[Problem]:
    """A project that keeps its configuration under config/ (read by ``rasa -c``)."""
    if layout.config is not None or not (layout.root / "config").is_dir():
        return []
    message = (
        "missing, so defaults apply; config/*.yml is not read (Rasa too reads config.yml "
        "unless given -c): copy the one to use to config.yml"
    )
    return [Problem("config.yml", None, "", message, "warning")]


def _with_patterns(
    flows: dict[str, Flow], patterns: dict[str, Flow], intents: set[str]
) -> dict[str, Flow]:
    """The built-in patterns, replaced by the project's; an override without its own
    ``nlu_trigger`` keeps the built-in ones whose intent the project has (saying "cancel"
    still cancels)."""
    merged = dict(patterns)
    for flow_id, flow in flows.items():
        builtin = patterns.get(flow_id)
        if builtin is not None and not flow.triggers:
            kept = tuple(t for t in builtin.triggers if t.intent in intents)
            flow = replace(flow, triggers=kept)
        merged[flow_id] = flow
    return merged


def read_project(
    path: Path, endpoints: Path | None = None, environ: Mapping[str, str] | None = None
) -> tuple[Project, list[Problem]]:
    """Read a project without raising for its content; returns it with every problem found
    (or only the root cause, when the rest would follow from it). ``endpoints``: a file read
    instead of the project's endpoints.yml, whole (``run --endpoints``); ``environ``: where
    ``${VAR}`` comes from (default: the process environment)."""
    from telephonist.dialogue.checks import check  # checks need the Project type

    root = Path(path)
    if not root.is_dir():
        raise ConfigError("not a project directory", file=str(root))
    layout = find_layout(root)
    if endpoints is not None:
        layout = replace(layout, endpoints=Path(endpoints))
    variables = os.environ if environ is None else environ
    problems = Problems()
    config_doc = _load(layout, layout.config, problems, environ=variables)
    endpoints_doc = _load(layout, layout.endpoints, problems, environ=variables)
    domain_docs = _domain_docs(layout, problems)
    data_docs = [d for p in layout.data if (d := _load(layout, p, problems)) is not None]
    docs = {d.file: d for d in (config_doc, endpoints_doc, *domain_docs, *data_docs) if d}
    unreadable = list(problems.errors)
    domain = merge_domains([(d, read_domain(d, problems)) for d in domain_docs], problems)
    legacy = find_legacy(data_docs, domain.forms)
    flows: dict[str, Flow] = {}
    nlu_parts = []
    for doc in data_docs:
        for key in doc.data if isinstance(doc.data, dict) else ():
            if key not in _DATA_KEYS:
                problems.add(doc, (key,), f"unknown training data key {key!r} (ignored)", "warning")
        nlu_parts.append(read_nlu(doc, problems))
        for flow_id, flow in read_flows(doc, problems).items():
            if flow_id in flows:
                problems.add(doc, ("flows", flow_id), f"flow also defined in {flows[flow_id].file}")
            flows[flow_id] = flow
    user_flow_ids = tuple(f for f in flows if not f.startswith("pattern_"))
    nlu = merge_nlu(nlu_parts)
    project = Project(
        path=root,
        config=read_config(config_doc, problems),
        domain=replace(
            domain,
            slots={**DEFAULT_SLOTS, **domain.slots},
            responses={**DEFAULT_RESPONSES, **domain.responses},
        ),
        flows=_with_patterns(
            flows,
            default_patterns("utter_greet" in domain.responses),
            {*domain.intents, *nlu.examples},
        ),
        nlu=nlu,
        endpoints=read_endpoints(endpoints_doc, problems),
        user_flow_ids=user_flow_ids,
        sources=docs,
        legacy=tuple(legacy),
        llm=read_generator(config_doc, endpoints_doc, root, variables, problems),
    )
    causes = _root_causes(layout, unreadable, problems, bool(data_docs))
    if not causes and legacy and not user_flow_ids:
        causes = legacy_problems(legacy, has_flows=False)
    if causes:
        return project, causes
    problems.items.extend(_config_hint(layout))
    problems.items.extend(check(project))
    problems.items.extend(legacy_problems(legacy, has_flows=True))
    ordered = sorted(problems.items, key=lambda p: (p.severity != "error", p.file, p.line or 0))
    return project, ordered


def check_project(
    path: Path, endpoints: Path | None = None, environ: Mapping[str, str] | None = None
) -> list[Problem]:
    """Every problem in the project at ``path`` (errors and warnings), in file order
    (``endpoints``, ``environ``: as in `read_project`)."""
    try:
        _, problems = read_project(path, endpoints, environ)
    except ConfigError as exc:
        return [Problem(exc.file or str(path), None, exc.key or "", str(exc))]
    return problems


def load_project(
    path: Path, endpoints: Path | None = None, environ: Mapping[str, str] | None = None
) -> Project:
    """Read the project at ``path``; raises ConfigError listing every error found
    (``endpoints``, ``environ``: as in `read_project`)."""
    project, problems = read_project(path, endpoints, environ)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        first = errors[0]
        where = f"{first.file}:{first.line}" if first.line else first.file
        message = first.message
        if len(errors) > 1:
            message += f"\n({len(errors) - 1} more):\n" + "\n".join(str(p) for p in errors[1:])
        raise ConfigError(message, file=where, key=first.key or None)
    return project
