"""`telephonist shell`: talk to the assistant in the terminal, as a caller would.

Type what the caller says. ``/dtmf 1234`` keys digits, ``/silence`` stays silent for one
timeout, ``/restart`` hangs up and calls again, ``/quit`` (or Ctrl-D) leaves. The bot's
text is printed, and its call actions in brackets: ``[hang up]``, ``[collect 4 digits]``,
``[transfer to +1555...]``; with an LLM command generator, what the model answered:
``[llm 420 ms: start flow transfer_money]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from telephonist.cli.check import add_project_argument, project_of

if TYPE_CHECKING:
    from telephonist.dialogue.assistant import ProjectAssistant
    from telephonist.dialogue.turns import AssistantTurn
    from telephonist.gateway import RasaAssistant

__all__ = ["add_parser", "describe_turn", "run_shell"]

PROMPT = "you> "


def add_parser(subparsers: Any) -> None:
    """Register ``shell``."""
    parser = subparsers.add_parser(
        "shell",
        help="chat with the assistant in the terminal",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_project_argument(parser)
    parser.add_argument(
        "--transfer-number", metavar="NUMBER", help="number pattern_human_handoff transfers to"
    )
    parser.add_argument(
        "--rasa-url",
        metavar="URL",
        help="chat with a running Rasa server (its REST channel) instead of the project's "
        "assistant (also used when endpoints.yml has an assistant: block)",
    )
    parser.add_argument(
        "--persist",
        action="store_true",
        help="save the conversation in the project's store (see `export`)",
    )
    parser.set_defaults(func=run)


def describe_turn(turn: AssistantTurn) -> list[str]:
    """The lines the shell prints for one AssistantTurn."""
    lines = []
    report = turn.llm
    if report is not None and report.path == "llm":
        outcome = "" if report.outcome == "ok" else f" {report.outcome}"
        commands = "; ".join(report.commands)
        lines.append(f"[llm {report.latency_ms:.0f} ms{outcome}: {commands}]")
    lines += [f"bot> {m.text}" for m in turn.messages]
    dtmf = turn.collect_dtmf
    if dtmf is not None:
        if dtmf.length:
            lines.append(f"[collect {dtmf.length} digit{'s' if dtmf.length != 1 else ''}]")
        else:
            lines.append(f"[collect digits until {dtmf.finish_on_key}]")
    if turn.transfer_to:
        lines.append(f"[transfer to {turn.transfer_to}]")
    if turn.hang_up:
        lines.append("[hang up]")
    return lines


def _project_assistant(
    project_dir: Path, transfer_number: str | None, persist: bool
) -> ProjectAssistant:
    """The project's own assistant (its store only with ``--persist``)."""
    from telephonist.dialogue.assistant import ProjectAssistant
    from telephonist.dialogue.project import load_project
    from telephonist.llm import build_generator
    from telephonist.stores import MemoryStore, open_store

    project = load_project(project_dir)
    store = (
        open_store(project.endpoints.tracker_store or None, project.path)
        if persist
        else MemoryStore()
    )
    return ProjectAssistant(
        project,
        store,
        transfer_number=transfer_number,
        commands=build_generator(project, os.environ),
    )


def _input_lines(stream: TextIO, out: TextIO, interactive: bool) -> Iterator[str]:
    while True:
        if interactive:
            out.write(PROMPT)
            out.flush()
        line = stream.readline()
        if not line:
            return
        yield line.rstrip("\n")


async def run_shell(
    project_dir: Path,
    lines: Iterator[str],
    emit: Callable[[str], None],
    transfer_number: str | None = None,
    persist: bool = False,
    rasa_url: str | None = None,
) -> int:
    """Run a shell session over ``lines``, writing output through ``emit``."""
    from telephonist.dialogue.turns import SessionEnd, SessionStart, Silence, UserText
    from telephonist.gateway import RasaAssistant
    from telephonist.server.gateway_setup import gateway_settings

    gateway = gateway_settings(project_dir / "endpoints.yml", os.environ, rasa_url)
    assistant: RasaAssistant | ProjectAssistant = (
        RasaAssistant(gateway)
        if gateway is not None
        else _project_assistant(project_dir, transfer_number, persist)
    )

    def new_call() -> str:
        return f"shell-{uuid.uuid4().hex[:12]}"

    call_id, silences, ended = new_call(), 0, False
    metadata = {"call_id": call_id, "user_phone": "shell", "direction": "inbound"}
    try:
        emit(f"[call {call_id}] (/dtmf 1234, /silence, /restart, /quit)")
        turn = await assistant.handle(call_id, SessionStart(metadata))
        for out in describe_turn(turn):
            emit(out)
        for raw in lines:
            text = raw.strip()
            if not text:
                continue
            if text in ("/quit", "/exit"):
                break
            if text == "/restart":
                await assistant.handle(call_id, SessionEnd("caller hung up"))
                call_id, silences, ended = new_call(), 0, False
                emit(f"[call {call_id}]")
                event: Any = SessionStart({**metadata, "call_id": call_id})
            elif ended:
                emit("[the call has ended: /restart to call again, /quit to leave]")
                continue
            elif text == "/silence":
                silences += 1
                event = Silence(silences)
            elif text.startswith("/dtmf"):
                digits = text.removeprefix("/dtmf").strip().replace(" ", "")
                if not digits or any(c not in "0123456789*#" for c in digits):
                    emit("[usage: /dtmf 1234#]")
                    continue
                silences, event = 0, UserText(digits, source="dtmf")
            else:
                silences, event = 0, UserText(text, source="typed")
            turn = await assistant.handle(call_id, event)
            for out in describe_turn(turn):
                emit(out)
            if turn.hang_up or turn.transfer_to:
                ended = True
                await assistant.handle(call_id, SessionEnd("bot hung up"))
        if not ended:
            await assistant.handle(call_id, SessionEnd("caller hung up"))
    finally:
        await assistant.close()
    return 0


def run(args: argparse.Namespace) -> int:
    """Interactive loop on stdin/stdout."""
    from telephonist.errors import ConfigError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    interactive = sys.stdin.isatty()
    lines = _input_lines(sys.stdin, sys.stdout, interactive)
    try:
        return asyncio.run(
            run_shell(
                project_of(args),
                lines,
                print,
                args.transfer_number,
                args.persist,
                rasa_url=args.rasa_url,
            )
        )
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`
        sys.stdout = open(os.devnull, "w")  # silence the flush at exit
        return 0
