"""An assistant project directory: read every file, merge the built-ins, check it.

config.yml  domain.yml  endpoints.yml  data/*.yml (nlu: and flows: sections)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from telephonist.dialogue.domain_loader import read_config, read_domain, read_endpoints
from telephonist.dialogue.flow_loader import read_flows
from telephonist.dialogue.model import Config, Domain, Endpoints, Flow, NluData
from telephonist.dialogue.nlu_data import merge_nlu, read_nlu
from telephonist.dialogue.patterns import DEFAULT_RESPONSES, DEFAULT_SLOTS, default_patterns
from telephonist.dialogue.source import Document, Problem, Problems, load_document
from telephonist.errors import ConfigError

__all__ = ["Problem", "Project", "check_project", "load_project", "read_project"]


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


_CONFIGURATION = ("config.yml", "endpoints.yml")  # ${VAR} reads the environment in these


def _optional(path: Path, file: str, problems: Problems) -> Document | None:
    if not path.exists():
        return None
    return load_document(path, file, problems, os.environ if file in _CONFIGURATION else None)


def read_project(path: Path) -> tuple[Project, list[Problem]]:
    """Read a project without raising for its content; returns it with every problem found."""
    from telephonist.dialogue.checks import check  # checks need the Project type

    root = Path(path)
    problems = Problems()
    if not root.is_dir():
        raise ConfigError("not a project directory", file=str(root))
    docs: dict[str, Document] = {}
    for name in ("config.yml", "domain.yml", "endpoints.yml"):
        doc = _optional(root / name, name, problems)
        if doc is not None:
            docs[name] = doc
    if not (root / "domain.yml").exists():
        problems.items.append(Problem("domain.yml", None, "", "missing: a project needs a domain"))
    data_files = sorted((root / "data").rglob("*.yml")) + sorted((root / "data").rglob("*.yaml"))
    flows: dict[str, Flow] = {}
    nlu_parts = []
    for file in data_files:
        display = file.relative_to(root).as_posix()
        doc = load_document(file, display, problems)
        if doc is None:
            continue
        docs[display] = doc
        nlu_parts.append(read_nlu(doc, problems))
        for flow_id, flow in read_flows(doc, problems).items():
            if flow_id in flows:
                problems.add(doc, ("flows", flow_id), f"flow also defined in {flows[flow_id].file}")
            flows[flow_id] = flow
    domain = read_domain(docs.get("domain.yml"), problems)
    domain = replace(
        domain,
        slots={**DEFAULT_SLOTS, **domain.slots},
        responses={**DEFAULT_RESPONSES, **domain.responses},
    )
    user_flow_ids = tuple(f for f in flows if not f.startswith("pattern_"))
    all_flows = {**default_patterns("utter_greet" in domain.responses), **flows}
    project = Project(
        path=root,
        config=read_config(docs.get("config.yml"), problems),
        domain=domain,
        flows=all_flows,
        nlu=merge_nlu(nlu_parts),
        endpoints=read_endpoints(docs.get("endpoints.yml"), problems),
        user_flow_ids=user_flow_ids,
        sources=docs,
    )
    problems.items.extend(check(project))
    ordered = sorted(problems.items, key=lambda p: (p.file, p.line or 0))
    return project, ordered


def check_project(path: Path) -> list[Problem]:
    """Every problem in the project at ``path`` (errors and warnings), in file order."""
    try:
        _, problems = read_project(path)
    except ConfigError as exc:
        return [Problem(exc.file or str(path), None, exc.key or "", str(exc))]
    return problems


def load_project(path: Path) -> Project:
    """Read the project at ``path``; raises ConfigError listing every error found."""
    project, problems = read_project(path)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        first = errors[0]
        where = f"{first.file}:{first.line}" if first.line else first.file
        message = first.message
        if len(errors) > 1:
            message += f"\n({len(errors) - 1} more):\n" + "\n".join(str(p) for p in errors[1:])
        raise ConfigError(message, file=where, key=first.key or None)
    return project
