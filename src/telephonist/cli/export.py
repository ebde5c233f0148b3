"""`telephonist export CALL_SID`: print one stored conversation as JSON."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser"]


def add_parser(subparsers: Any) -> None:
    """Register ``export``."""
    parser = subparsers.add_parser(
        "export",
        help="print a stored conversation as JSON",
        description="Print the tracker (slots, flow stack, every event) of one conversation "
        "from the project's conversation store.",
    )
    parser.add_argument(
        "call_sid", metavar="CALL_SID", nargs="?", help="the conversation id (Twilio CallSid)"
    )
    parser.add_argument(
        "--project",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="assistant project directory (default: .)",
    )
    parser.add_argument("--list", action="store_true", help="list stored conversation ids")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Open the store named in endpoints.yml and print the conversation."""
    from telephonist.dialogue.domain_loader import read_endpoints
    from telephonist.dialogue.source import Problems, load_document
    from telephonist.errors import ConfigError
    from telephonist.stores import open_store

    project: Path = args.project
    problems = Problems()
    endpoints_file = project / "endpoints.yml"
    doc = (
        load_document(endpoints_file, "endpoints.yml", problems, os.environ)
        if endpoints_file.exists()
        else None
    )
    endpoints = read_endpoints(doc, problems)
    try:
        store = open_store(endpoints.tracker_store or None, project)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        if args.list:
            for conversation_id in store.list():
                print(conversation_id)
            return 0
        if not args.call_sid:
            print("error: give a CALL_SID (or --list)", file=sys.stderr)
            return 2
        tracker = store.load(args.call_sid)
        if tracker is None:
            print(f"error: no conversation {args.call_sid!r} in the store", file=sys.stderr)
            return 1
        print(json.dumps(tracker, indent=2, ensure_ascii=False))
        return 0
    finally:
        store.close()
