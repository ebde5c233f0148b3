"""`telephonist check`: validate an assistant project and print every problem."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from telephonist.cli.check_channel import check_channel
from telephonist.cli.check_gateway import check_gateway

__all__ = ["add_parser", "add_project_argument", "project_of"]


def add_project_argument(parser: argparse.ArgumentParser) -> None:
    """The project directory, positional or ``--project`` (default: the current directory)."""
    parser.add_argument(
        "project_dir",
        nargs="?",
        metavar="PROJECT",
        type=Path,
        help="assistant project directory (default: .)",
    )
    parser.add_argument(
        "--project", type=Path, dest="project_opt", metavar="DIR", help="same as PROJECT"
    )


def project_of(args: argparse.Namespace) -> Path:
    """The project directory the user chose."""
    return Path(args.project_opt or args.project_dir or ".")


def add_parser(subparsers: Any) -> None:
    """Register ``check``."""
    parser = subparsers.add_parser(
        "check",
        help="validate an assistant project",
        description="Check config.yml, domain.yml / domain/, endpoints.yml and data/: unknown "
        "responses, slots, flows, links and patterns, bad conditions, unreachable steps, "
        "flows nothing can start, an LLM command generator's settings and model_groups, "
        "what the built-in engine does not run. Prints each "
        "problem as FILE:LINE: KEY: MESSAGE; exits 1 on errors (warnings alone exit 0).",
    )
    add_project_argument(parser)
    parser.add_argument(
        "--rasa-url",
        metavar="URL",
        help="check a Rasa server instead (also done when endpoints.yml has an assistant: block)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print every problem; exit 1 if there is an error (warnings alone exit 0: `run`
    starts with them too)."""
    from telephonist.dialogue.project import check_project, load_project
    from telephonist.errors import ConfigError
    from telephonist.stores import check_store_spec

    path = project_of(args)
    gateway = check_gateway(path, args.rasa_url, print)
    if gateway is not None:  # a Rasa server answers the calls: no domain or flows here
        return gateway
    problems = check_project(path)
    for problem in problems:
        suffix = " (warning)" if problem.severity == "warning" else ""
        print(f"{problem}{suffix}")
    store_problem = None
    channel_errors, channel_warnings = 0, 0
    if not any(p.severity == "error" for p in problems):  # it loads: check the store block
        project = load_project(path)
        try:
            check_store_spec(project.endpoints.tracker_store or None)
        except ConfigError as exc:
            store_problem = str(exc)
            print(store_problem)
        channel_errors, channel_warnings = check_channel(path, project.language, print)
    errors = (
        sum(p.severity == "error" for p in problems) + (store_problem is not None) + channel_errors
    )
    warnings = sum(p.severity == "warning" for p in problems) + channel_warnings
    if errors or warnings:
        print(f"{errors} error(s), {warnings} warning(s) in {path}", file=sys.stderr)
        return 1 if errors else 0
    print(f"{path}: OK", file=sys.stderr)
    return 0
