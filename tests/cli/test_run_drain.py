"""`telephonist run` on SIGTERM: no new calls, the call in progress finishes, then exit 0."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from telephonist.cli import main
from telephonist.simulator.caller import TwilioCaller


@pytest.mark.slow
async def test_sigterm_drains_the_call_in_progress(tmp_path: Path) -> None:
    project = tmp_path / "bot"
    assert main(["init", str(project)]) == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "telephonist", "run", str(project), "--interface", "127.0.0.1",
        "--port", str(port), "--drain-timeout", "60", stderr=asyncio.subprocess.PIPE)
    assert process.stderr is not None
    base = f"http://127.0.0.1:{port}"
    try:
        async with asyncio.timeout(120):
            while b"Listening on" not in (line := await process.stderr.readline()):
                assert line, "run exited before listening"
        caller = TwilioCaller(f"{base}/webhooks/twilio_media_streams/webhook",
                              stream_url_override=f"ws://127.0.0.1:{port}"
                                                  "/webhooks/twilio_media_streams/websocket")
        await caller.dial()
        await caller.connect()
        await caller.wait_until(lambda: len(caller.received_audio) > 0, within=30)

        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            while b"server.draining" not in (line := await process.stderr.readline()):
                assert line, "run exited instead of draining"
        async with httpx.AsyncClient() as http:
            refused = await http.post(f"{base}/webhooks/twilio_media_streams/webhook",
                                      data={"CallSid": "CA-after"})
            assert refused.status_code == 503
            health = await http.get(f"{base}/health")
            assert health.json() == {"status": "draining", "active_calls": 1}
        assert process.returncode is None  # still serving the call

        await caller.hang_up()
        async with asyncio.timeout(30):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
