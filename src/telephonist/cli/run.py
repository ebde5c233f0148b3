"""`telephonist run`: answer calls for an assistant project."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from telephonist.cli.logs import add_log_level_argument
from telephonist.errors import ConfigError

if TYPE_CHECKING:
    from telephonist.cli.run_workers import Worker
    from telephonist.server.assembly import Paths

__all__ = ["add_parser"]


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
    """Register ``run``."""
    parser = subparsers.add_parser(
        "run",
        help="answer phone calls (Twilio Media Streams)",
        description="Start the server: Twilio's voice webhook at "
        "/webhooks/twilio_media_streams/webhook, the media websocket at "
        "/webhooks/twilio_media_streams/websocket.",
    )
    add_project_argument(parser)
    parser.add_argument("-p", "--port", type=int, default=5005, help="port (default: 5005)")
    parser.add_argument(
        "-i", "--interface", default="0.0.0.0", help="address to bind (default: 0.0.0.0)"
    )
    parser.add_argument(
        "--credentials",
        type=Path,
        metavar="FILE",
        help="credentials file (default: PROJECT/credentials.yml)",
    )
    parser.add_argument(
        "--endpoints",
        type=Path,
        metavar="FILE",
        help="endpoints file (default: PROJECT/endpoints.yml)",
    )
    parser.add_argument(
        "--rasa-url",
        metavar="URL",
        help="answer with a running Rasa server (its REST channel) instead of the project's "
        "own assistant; the project then needs only credentials.yml (same as an "
        "`assistant: {type: rasa, url: URL}` block in endpoints.yml)",
    )
    parser.add_argument(
        "--inspect",
        action="store_true",
        help="serve the development inspector (live calls, call timeline, "
        "browser phone) at /webhooks/twilio_media_streams/inspect",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="on SIGTERM/Ctrl-C, stop taking calls but let calls in progress "
        "finish for up to this long (default: 300; 0 = stop at once; "
        "a second signal stops at once)",
    )
    parser.add_argument(
        "--workers",
        metavar="N",
        help="serve the port from N processes, one core each: a number or auto (one per "
        "core); default: twilio_media_streams.workers, else 1. Several workers need a "
        "store they share (sqlite, the default, redis or postgresql)",
    )
    parser.add_argument(
        "--loop",
        default="auto",
        choices=["auto", "uvloop", "asyncio"],
        help="event loop: uvloop when installed (auto, the default), or asyncio's own",
    )
    add_log_level_argument(parser)
    parser.add_argument(
        "--log-format",
        default="text",
        choices=["text", "json"],
        help="text (default) or one JSON object per line",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check everything, load the models, then serve until interrupted (from several
    processes with ``--workers``)."""
    from telephonist.cli.logs import configure_logging
    from telephonist.cli.run_workers import Worker, workers_wanted
    from telephonist.server.assembly import Paths
    from telephonist.server.workers import CONTROL_FD, LISTEN_FD

    worker = Worker.from_environ(os.environ)
    if worker is not None:  # not for the processes this one may start
        for name in (LISTEN_FD, CONTROL_FD):
            os.environ.pop(name, None)
    configure_logging(args.log_level, args.log_format, with_pid=worker is not None)
    if args.drain_timeout < 0:
        print("telephonist: --drain-timeout must be 0 or more seconds", file=sys.stderr)
        return 2
    paths = Paths(project_of(args), args.credentials, args.endpoints)
    if worker is None:
        try:
            workers = workers_wanted(args, paths, os.environ)
        except ConfigError as exc:
            print(f"telephonist: {exc}", file=sys.stderr)
            return 2
        if workers > 1:
            from telephonist.cli.run_workers import supervise

            return supervise(args, paths, workers)
    return serve_one(args, paths, worker)


def serve_one(args: argparse.Namespace, paths: Paths, worker: Worker | None) -> int:
    """One server process: the whole server, or one worker of several."""
    from telephonist.server.app import create_app
    from telephonist.server.assembly import build_runtime, warm_up
    from telephonist.server.event_log import EventLogger
    from telephonist.server.gateway_setup import answering, watch_gateway_state
    from telephonist.server.heap import settled_heap
    from telephonist.server.serve import bound_socket, run_on_loop, uvicorn_server

    try:
        runtime = build_runtime(
            paths, os.environ, rasa_url=args.rasa_url, workers=worker.count if worker else 1
        )
    except ConfigError as exc:
        print(f"telephonist: {exc}", file=sys.stderr)
        return 2
    runtime.events.subscribe(EventLogger())
    if args.inspect:
        watch_gateway_state(runtime.assistant, runtime.events, runtime.clock)
    try:
        app = create_app(runtime, inspect=args.inspect, interface=args.interface)
    except ConfigError as exc:
        print(f"telephonist: {exc}", file=sys.stderr)
        return 2
    server = uvicorn_server(
        app, host=args.interface, port=args.port, runtime=runtime, drain_timeout=args.drain_timeout
    )

    async def main() -> int:
        try:
            # Bound first: a busy port fails before the models load, and every address
            # the banner prints already accepts connections.
            listening = worker.listening() if worker else bound_socket(args.interface, args.port)
        except OSError as exc:
            await runtime.close()
            print(
                f"telephonist: cannot listen on {args.interface}:{args.port} (--interface/"
                f"--port): {exc.strerror or exc}",
                file=sys.stderr,
            )
            return 2
        try:
            await warm_up(runtime)
        except BaseException:
            listening.close()
            await runtime.close()
            raise
        source = answering(runtime.assistant) or paths.project.resolve()
        text = banner(args, runtime.channel.server_url, str(source))
        if worker is None:
            print(text, file=sys.stderr)
        else:  # the supervisor prints it once, when every worker is ready
            worker.ready(text, server)
        try:
            async with settled_heap():
                await server.serve(sockets=[listening])
        finally:
            listening.close()
            await runtime.close()
        return 0

    try:
        return run_on_loop(main(), args.loop)
    except KeyboardInterrupt:
        return 0


def banner(args: argparse.Namespace, server_url: str, source: str) -> str:
    """What the server prints once it takes calls."""
    text = (
        f"Telephonist is answering calls for {source}\n"
        f"  Twilio voice webhook: https://{server_url}/webhooks/twilio_media_streams/webhook"
        f" (POST)\n  Listening on {args.interface}:{args.port}"
    )
    if args.inspect:
        host = "localhost" if args.interface in ("0.0.0.0", "::") else args.interface
        host = f"[{host}]" if ":" in host else host
        text += f"\n  Inspector: http://{host}:{args.port}/webhooks/twilio_media_streams/inspect"
    return text
