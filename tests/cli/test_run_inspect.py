"""`telephonist run --inspect`: the inspector URL on loopback; credentials required beyond."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest
from tests.cli.run_process import start_run, stderr_line_with

from telephonist.cli import main


def test_inspect_on_public_interface_needs_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On 0.0.0.0 without username/password, --inspect exits 2 before opening the port."""
    project = tmp_path / "bot"
    assert main(["init", str(project)]) == 0
    capsys.readouterr()
    assert main(["run", str(project), "--inspect", "--interface", "0.0.0.0"]) == 2
    error = capsys.readouterr().err
    assert "--inspect on 0.0.0.0" in error
    assert "username and password" in error and "--interface 127.0.0.1" in error


@pytest.mark.slow
async def test_inspect_on_localhost_prints_the_url_and_serves_the_page(tmp_path: Path) -> None:
    """`run --inspect -i 127.0.0.1` prints the inspector URL, and the page answers there."""
    process, port = await start_run(tmp_path, "--inspect")
    try:
        async with asyncio.timeout(120):
            line = await stderr_line_with(process, b"Inspector:")
        url = line.decode().split("Inspector:", 1)[1].strip()
        assert url == f"http://127.0.0.1:{port}/webhooks/twilio_media_streams/inspect"
        async with httpx.AsyncClient() as http:
            page = await http.get(url)
        assert page.status_code == 200 and "Call the bot" in page.text
    finally:
        process.terminate()
        await process.wait()


def test_run_on_a_busy_port_says_which_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A port already in use is a clear error naming the address and the flags, exit 2."""
    project = tmp_path / "bot"
    assert main(["init", str(project)]) == 0
    capsys.readouterr()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["run", str(project), "--interface", "127.0.0.1", "--port", str(port)]) == 2
    error = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in error and "--port" in error
