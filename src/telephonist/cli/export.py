"""`telephonist export CALL_SID`: print one stored conversation as JSON, or write the call's
recording and transcript, its segments joined."""

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
        "from the project's conversation store; with --recording or --transcript, write the "
        "call's recording or transcript instead.",
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
    parser.add_argument(
        "--recording",
        type=Path,
        metavar="FILE",
        help="write the call's recording here (stereo WAV: caller left, bot right), its "
        "segments from every instance joined in order",
    )
    parser.add_argument(
        "--transcript",
        type=Path,
        metavar="FILE",
        help="write the call's transcript here (JSON), its segments joined",
    )
    parser.add_argument(
        "--recordings",
        type=Path,
        action="append",
        metavar="DIR",
        help="a recordings folder (default: the recording block's folder in "
        "PROJECT/credentials.yml); repeat it for instances that keep their own",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Open the store named in endpoints.yml and print the conversation."""
    from telephonist.dialogue.domain_loader import read_endpoints
    from telephonist.dialogue.source import Problems, load_document
    from telephonist.errors import ConfigError
    from telephonist.stores import open_store

    project: Path = args.project
    if args.recording is not None or args.transcript is not None:
        return export_recording(args)
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


def export_recording(args: argparse.Namespace) -> int:
    """Join the call's recorded segments into ``--recording`` / ``--transcript``."""
    from telephonist.errors import ConfigError
    from telephonist.recording.export import stitch
    from telephonist.server.assembly import Paths, load_channel

    if not args.call_sid:
        print("error: give a CALL_SID", file=sys.stderr)
        return 2
    folders: list[Path] = args.recordings or []
    if not folders:
        try:
            folders = [load_channel(Paths(args.project), os.environ).recording.folder]
        except ConfigError as exc:
            print(f"error: {exc} (or give --recordings DIR)", file=sys.stderr)
            return 1
    call = stitch(folders, args.call_sid)
    if call is None:
        where = ", ".join(str(f) for f in folders)
        print(f"error: no recording of {args.call_sid!r} in {where}", file=sys.stderr)
        return 1
    if args.transcript is not None:  # first: a call without audio still has its transcript
        args.transcript.write_text(
            json.dumps(call.transcript, indent=1, ensure_ascii=False), encoding="utf-8"
        )
    if args.recording is not None:
        if not call.pcm:
            print(f"error: {args.call_sid!r} has a transcript but no audio", file=sys.stderr)
            return 1
        call.write_wav(args.recording)
    segments = len(call.transcript["segments"])
    print(
        f"{args.call_sid}: {segments} segment(s), {call.seconds:.1f} s of audio",
        file=sys.stderr,
    )
    return 0
