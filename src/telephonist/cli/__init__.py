"""The `telephonist` command. The only place that configures logging."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

from telephonist import __version__

__all__ = ["main"]

# Each name is a module telephonist.cli.<name> with add_parser(subparsers) that sets
# `func(args) -> int` on its parser via set_defaults.
COMMANDS: tuple[str, ...] = ("run", "init", "shell", "check", "export", "call")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="telephonist",
        description="Answer phone calls with a conversational assistant (Twilio Media Streams).",
    )
    parser.add_argument("--version", action="version", version=f"telephonist {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"telephonist.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `telephonist` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    return int(args.func(args))
