"""`telephonist run` in a child process on a free loopback port, for CLI tests."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

from telephonist.cli import main


async def start_run(tmp_path: Path, *options: str) -> tuple[asyncio.subprocess.Process, int]:
    """``telephonist init`` a starter project, then ``run`` it on 127.0.0.1 with ``options``;
    the process (stderr piped) and its port."""
    project = tmp_path / "bot"
    assert main(["init", str(project)]) == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
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
    )
    assert process.stderr is not None
    return process, port


async def stderr_line_with(process: asyncio.subprocess.Process, text: bytes) -> bytes:
    """The first line of the child's stderr containing ``text`` (fails if it exits first)."""
    assert process.stderr is not None
    while text not in (line := await process.stderr.readline()):
        assert line, f"run exited before printing {text!r}"
    return line
