"""`telephonist init`: scaffold a working phone assistant from the starter project."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser"]


def add_parser(subparsers: Any) -> None:
    """Register ``init``."""
    parser = subparsers.add_parser(
        "init",
        help="create a starter phone assistant",
        description="Copy the starter assistant (an appointment / order-status phone line "
        "with a keypad menu, validation, handoff and goodbye) into DIR.",
    )
    parser.add_argument(
        "directory",
        nargs="?",
        default=".",
        type=Path,
        metavar="DIR",
        help="where to create the project (default: .)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite files that already exist")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Copy the starter files; refuse to mix into an existing project without --force."""
    from telephonist.starter import copy_starter

    target: Path = args.directory
    if (target / "domain.yml").exists() and not args.force:
        print(
            f"{target} already holds a project (domain.yml); use --force to overwrite",
            file=sys.stderr,
        )
        return 1
    target.mkdir(parents=True, exist_ok=True)
    written = copy_starter(target, overwrite=args.force)
    for path in written:
        print(f"created {path}")
    where = "" if target == Path(".") else f" {target}"
    print(
        "\nNext steps:\n"
        f"  telephonist shell{where}      # talk to it in the terminal\n"
        f"  telephonist check{where}      # validate the project\n"
        f"  telephonist run{where}        # answer phone calls (see README.md)"
    )
    return 0
