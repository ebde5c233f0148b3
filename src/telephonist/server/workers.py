"""Serving one port from several processes: the supervisor of ``telephonist run --workers N``.

The supervisor binds N listening sockets on the same address with ``SO_REUSEPORT`` and gives
each worker one of them (an inherited file descriptor); the kernel spreads new connections
evenly over the sockets. Binding in the supervisor means a busy port fails once, before any
model loads, and port 0 names one port for all workers. The supervisor keeps its copy of
each socket while the run lasts, so a worker that dies leaves its socket open: connections
the kernel queued there wait for the replacement instead of being reset.

Each worker also gets one end of a socket pair, its control line: it writes its banner there
once it can take calls, and reads end-of-file there when the supervisor is gone (it then
drains and stops, as on SIGTERM). Workers run in their own process group, so a terminal's
Ctrl-C reaches the supervisor only, which forwards one SIGTERM to each: calls drain once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "CONTROL_FD",
    "LISTEN_FD",
    "WORKER_INDEX",
    "Supervisor",
    "WorkerFailed",
    "reuseport_sockets",
    "worker_command",
]

log = logging.getLogger(__name__)

LISTEN_FD = "TELEPHONIST_WORKER_LISTEN_FD"
"""Environment variable naming a worker's inherited listening socket."""
CONTROL_FD = "TELEPHONIST_WORKER_CONTROL_FD"
"""Environment variable naming a worker's end of its control line."""
WORKER_INDEX = "TELEPHONIST_WORKER_INDEX"
"""Environment variable holding a worker's number (0 to N-1), for its log lines."""
_BANNER_BYTES = 64 * 1024


class WorkerFailed(Exception):
    """A worker exited before it could take calls (its own error is on stderr)."""

    def __init__(self, index: int, code: int) -> None:
        super().__init__(f"worker {index} exited with code {code} before taking calls")
        self.index = index
        self.code = code


def reuseport_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening sockets on ``host:port`` sharing it through ``SO_REUSEPORT`` (the
    first one resolves port 0); raises `OSError` when the port is busy."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            sock.listen(512)
            sock.set_inheritable(True)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


@dataclass
class _Worker:
    """One worker slot: its socket stays, its process may be replaced."""

    index: int
    listening: socket.socket
    process: asyncio.subprocess.Process | None = None
    control: socket.socket | None = None
    started_at: float = 0.0
    banner: str = ""
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class Supervisor:
    """Starts N workers on shared sockets, forwards signals, restarts the ones that die."""

    def __init__(
        self,
        command: Sequence[str],
        sockets: Sequence[socket.socket],
        environ: Mapping[str, str],
    ) -> None:
        self.command = list(command)
        self.environ = dict(environ)
        self.workers = [_Worker(i, s) for i, s in enumerate(sockets)]
        self.stopping = False
        self._signals = 0
        self._changed = asyncio.Event()
        self._watches: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        """Start every worker and wait until all can take calls; the first one's banner.
        Raises `WorkerFailed` (all stopped) when one exits first."""
        for worker in self.workers:
            await self._spawn(worker)
        while not all(w.ready.is_set() for w in self.workers):
            failed = [w for w in self.workers if _exited(w) and not w.ready.is_set()]
            if failed:
                code = _code(failed[0])
                await self.stop(immediately=True)
                raise WorkerFailed(failed[0].index, code)
            self._changed.clear()
            await self._changed.wait()
        return self.workers[0].banner

    def pids(self) -> list[int]:
        """The pids of the workers running now."""
        return [w.process.pid for w in self.workers if w.process and not _exited(w)]

    def handle_signal(self) -> None:
        """SIGTERM/SIGINT: forward one SIGTERM to every worker (the first drains, a second
        stops at once)."""
        self._signals += 1
        self.stopping = True
        pids = self.pids()
        log.warning(
            "workers.signal: forwarding SIGTERM to %d worker(s)%s",
            len(pids),
            "" if self._signals == 1 else " again (stop now)",
        )
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        self._changed.set()

    async def serve(self) -> int:
        """Watch the workers until all have stopped after a signal; 0 when every one exited
        cleanly (or of that signal), else 1. A worker that dies while serving is logged and
        started again."""
        while True:
            for worker in self.workers:
                if worker.process is None or not _exited(worker):
                    continue
                if self.stopping:
                    if worker.listening.fileno() != -1:
                        log.info(
                            "workers.stopped: worker %d (pid %d) exited with code %d",
                            worker.index,
                            worker.process.pid,
                            _code(worker),
                        )
                    worker.listening.close()  # the kernel sends its new connections elsewhere
                    continue
                if not worker.ready.is_set():
                    await self.stop(immediately=True)
                    raise WorkerFailed(worker.index, _code(worker))
                log.error(
                    "workers.died: worker %d (pid %d) exited with code %d; starting it again",
                    worker.index,
                    worker.process.pid,
                    _code(worker),
                )
                await self._spawn(worker)
            if self.stopping and not self.pids():
                break
            self._changed.clear()
            await self._changed.wait()
        # uvicorn re-raises a signal it stopped on: dying of the SIGTERM we sent is clean.
        codes = [_code(w) for w in self.workers if w.process is not None]
        return 0 if all(c in (0, -signal.SIGTERM) for c in codes) else 1

    async def stop(self, *, immediately: bool = False) -> None:
        """Stop every worker (SIGTERM; twice with ``immediately``) and wait for them."""
        self.stopping = True
        for _ in range(2 if immediately else 1):
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        for worker in self.workers:
            if worker.process is not None:
                await worker.process.wait()

    def close(self) -> None:
        """Release the sockets and control lines."""
        for worker in self.workers:
            worker.listening.close()
            if worker.control is not None:
                worker.control.close()

    async def _spawn(self, worker: _Worker) -> None:
        if worker.control is not None:
            worker.control.close()
        ours, theirs = socket.socketpair()
        worker.control = ours
        worker.ready = asyncio.Event()
        worker.banner = ""
        env = {
            **self.environ,
            LISTEN_FD: str(worker.listening.fileno()),
            CONTROL_FD: str(theirs.fileno()),
            WORKER_INDEX: str(worker.index),
        }
        theirs.set_inheritable(True)
        try:
            worker.process = await asyncio.create_subprocess_exec(
                *self.command,
                env=env,
                pass_fds=(worker.listening.fileno(), theirs.fileno()),
                process_group=0,
            )
        finally:
            theirs.close()
        worker.started_at = time.monotonic()
        watch = asyncio.get_running_loop().create_task(self._watch(worker, worker.process, ours))
        self._watches.add(watch)  # a task nobody holds may be collected before it ends
        watch.add_done_callback(self._watches.discard)

    async def _watch(
        self, worker: _Worker, process: asyncio.subprocess.Process, control: socket.socket
    ) -> None:
        """Read the worker's banner (it is ready), then wait for it to exit."""
        loop = asyncio.get_running_loop()
        control.setblocking(False)
        banner = b""
        with contextlib.suppress(OSError):
            while chunk := await loop.sock_recv(control, 4096):
                banner += chunk
                if banner.endswith(b"\0") or len(banner) > _BANNER_BYTES:
                    break
        if banner.endswith(b"\0"):
            worker.banner = banner[:-1].decode(errors="replace")
            worker.ready.set()
            self._changed.set()
            log.info("workers.ready: worker %d (pid %d) takes calls", worker.index, process.pid)
        await process.wait()
        self._mark_dead(process.pid)
        self._changed.set()

    def _mark_dead(self, pid: int) -> None:
        """Drop a dead worker's live gauges from the metrics the others serve."""
        folder = self.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if folder:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(pid, folder)  # type: ignore[no-untyped-call]


def _exited(worker: _Worker) -> bool:
    return worker.process is not None and worker.process.returncode is not None


def _code(worker: _Worker) -> int:
    assert worker.process is not None and worker.process.returncode is not None
    return worker.process.returncode


def worker_command() -> list[str]:
    """How to start this Python with Telephonist's command line."""
    return [sys.executable, "-m", "telephonist"]
