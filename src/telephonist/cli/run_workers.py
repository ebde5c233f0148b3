"""`telephonist run --workers N`: the supervisor's side (checks, shared secret and metrics
folder, banner) and the worker's side (its inherited socket and control line).

What every worker shares: the listening port, the stream-token secret (the configured one,
else one made for this run and handed over in the environment, never logged), the
conversation store (its claims keep each call's stream single-use and its ledger resumes a
call on any worker) and the metrics folder. What each keeps to itself: its calls, its
models, its inspector.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telephonist.config.workers import parse_workers
from telephonist.errors import ConfigError
from telephonist.server.workers import (
    CONTROL_FD,
    LISTEN_FD,
    WORKER_INDEX,
    Supervisor,
    WorkerFailed,
    reuseport_sockets,
    worker_command,
)

if TYPE_CHECKING:
    import uvicorn

    from telephonist.server.assembly import Paths

__all__ = ["SECRET_VARIABLE", "WORKERS", "Worker", "supervise", "workers_wanted"]

log = logging.getLogger(__name__)

SECRET_VARIABLE = "TELEPHONIST_STREAM_TOKEN_SECRET"
WORKERS = "TELEPHONIST_WORKERS"
"""How many workers the run has (a worker needs a store it shares with the others)."""
METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"


@dataclass
class Worker:
    """This process is worker ``index`` of ``count``, started by a supervisor."""

    index: int
    count: int
    listen_fd: int
    control_fd: int
    _control: socket.socket | None = field(default=None, repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Worker | None:
        """The worker the supervisor's variables describe; None outside a supervisor."""
        if LISTEN_FD not in environ or CONTROL_FD not in environ:
            return None
        return cls(
            index=int(environ.get(WORKER_INDEX, "0")),
            count=int(environ.get(WORKERS, "2")),
            listen_fd=int(environ[LISTEN_FD]),
            control_fd=int(environ[CONTROL_FD]),
        )

    def listening(self) -> socket.socket:
        """The listening socket the supervisor bound for this worker."""
        return socket.socket(fileno=self.listen_fd)

    def ready(self, banner: str, server: uvicorn.Server) -> None:
        """Tell the supervisor this worker takes calls; drain and stop if it goes away."""
        control = socket.socket(fileno=self.control_fd)
        self._control = control
        control.sendall(banner.encode() + b"\0")
        control.setblocking(False)
        loop = asyncio.get_running_loop()

        def readable() -> None:
            try:
                data = control.recv(64)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                loop.remove_reader(control.fileno())
                log.warning("worker.supervisor_gone: stopping as on SIGTERM")
                server.handle_exit(signal.SIGTERM, None)

        loop.add_reader(control.fileno(), readable)


def workers_wanted(args: argparse.Namespace, paths: Paths, environ: Mapping[str, str]) -> int:
    """``--workers``, else the channel's ``workers`` key, else 1."""
    if args.workers is not None:
        count = parse_workers(args.workers, file="--workers", key="")
        assert count is not None
        return count
    from telephonist.server.assembly import load_channel

    credentials = paths.credentials_file
    if not credentials.is_file():
        return 1  # build_runtime says what is missing
    return load_channel(paths, environ).workers or 1


def _worker_argv(args: argparse.Namespace, paths: Paths, port: int) -> list[str]:
    """The ``run`` command line of a worker: the supervisor's, on the port it bound."""
    argv = [
        "run",
        str(paths.project),
        "--interface",
        args.interface,
        "--port",
        str(port),
        "--drain-timeout",
        str(args.drain_timeout),
        "--loop",
        args.loop,
        "--log-level",
        args.log_level,
        "--log-format",
        args.log_format,
    ]
    for flag, value in (
        ("--credentials", paths.credentials),
        ("--endpoints", paths.endpoints),
        ("--rasa-url", args.rasa_url),
    ):
        if value is not None:
            argv += [flag, str(value)]
    return argv + (["--inspect"] if args.inspect else [])


def _check(paths: Paths, environ: dict[str, str]) -> None:
    """What would make every worker fail, said once: the credentials file, and a store the
    workers cannot share."""
    from telephonist.server.assembly import load_channel, tracker_store_spec, unshared_store_error
    from telephonist.stores import check_store_spec

    load_channel(paths, environ)
    kind, _ = check_store_spec(tracker_store_spec(paths, environ))
    if kind == "memory":
        raise unshared_store_error(paths)


def supervise(args: argparse.Namespace, paths: Paths, count: int) -> int:
    """Bind the port, start ``count`` workers, forward signals; the run's exit code."""
    from telephonist.cli.logs import configure_logging

    configure_logging(args.log_level, args.log_format, with_pid=True)
    environ = dict(os.environ)
    if not environ.get(SECRET_VARIABLE):  # a configured secret (file or variable) wins
        environ[SECRET_VARIABLE] = secrets.token_hex(32)
    environ[WORKERS] = str(count)
    try:
        _check(paths, environ)
    except ConfigError as exc:
        print(f"telephonist: {exc}", file=sys.stderr)
        return 2
    try:
        sockets = reuseport_sockets(args.interface, args.port, count)
    except OSError as exc:
        print(
            f"telephonist: cannot listen on {args.interface}:{args.port} (--interface/"
            f"--port): {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    port = int(sockets[0].getsockname()[1])
    metrics = tempfile.mkdtemp(prefix="telephonist-metrics-")
    environ[METRICS_DIR] = metrics
    supervisor = Supervisor([*worker_command(), *_worker_argv(args, paths, port)], sockets, environ)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, supervisor.handle_signal)
        try:
            banner = await supervisor.start()
        except WorkerFailed as exc:
            if supervisor.stopping:
                return 0
            print(f"telephonist: {exc}", file=sys.stderr)
            return exc.code if exc.code > 0 else 1
        pids = ", ".join(str(pid) for pid in supervisor.pids())
        print(f"{banner}\n  Workers: {count} processes (pids {pids})", file=sys.stderr)
        if args.inspect:
            log.warning(
                "workers.inspector: each worker's inspector shows the calls of that worker "
                "only; use --workers 1 to see every call in one place"
            )
        try:
            return await supervisor.serve()
        except WorkerFailed as exc:
            print(f"telephonist: {exc}", file=sys.stderr)
            return exc.code if exc.code > 0 else 1

    try:
        return asyncio.run(main())
    finally:
        supervisor.close()
        shutil.rmtree(metrics, ignore_errors=True)
