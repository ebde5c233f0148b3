"""`telephonist run` in a child process on a free loopback port, for CLI tests."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

from telephonist.cli import main


def free_port() -> int:
    """A loopback port nothing listens on (for a child process to bind)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_run(tmp_path: Path, *options: str) -> tuple[asyncio.subprocess.Process, int]:
    """``telephonist init`` a starter project, then ``run`` it on 127.0.0.1 with ``options``;
    the process (stderr piped) and its port."""
    project = tmp_path / "bot"
    assert main(["init", str(project)]) == 0
    port = free_port()
    return await run_project(project, port, *options), port


async def run_project(
    project: Path, port: int, *options: str, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """``telephonist run PROJECT`` on 127.0.0.1:``port`` (stderr piped)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "telephonist",
        "run",
        str(project),
        "--interface",
        "127.0.0.1",
        "--port",
        str(port),
        *options,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert process.stderr is not None
    return process


async def stderr_line_with(process: asyncio.subprocess.Process, text: bytes) -> bytes:
    """The first line of the child's stderr containing ``text`` (fails if it exits first)."""
    assert process.stderr is not None
    while text not in (line := await process.stderr.readline()):
        assert line, f"run exited before printing {text!r}"
    return line
