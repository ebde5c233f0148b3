"""`telephonist run` on SIGTERM: no new calls, the call in progress finishes, then exit 0."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import pytest
from tests.cli.run_process import start_run, stderr_line_with

from telephonist.simulator.caller import TwilioCaller


@pytest.mark.slow
async def test_sigterm_drains_the_call_in_progress(tmp_path: Path) -> None:
    process, port = await start_run(tmp_path, "--drain-timeout", "60")
    base = f"http://127.0.0.1:{port}"
    try:
        async with asyncio.timeout(120):
            await stderr_line_with(process, b"Listening on")
        caller = TwilioCaller(
            f"{base}/webhooks/twilio_media_streams/webhook",
            stream_url_override=f"ws://127.0.0.1:{port}/webhooks/twilio_media_streams/websocket",
        )
        await caller.dial()
        await caller.connect()
        await caller.wait_until(lambda: len(caller.received_audio) > 0, within=30)

        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await stderr_line_with(process, b"server.draining")
        async with httpx.AsyncClient() as http:
            refused = await http.post(
                f"{base}/webhooks/twilio_media_streams/webhook", data={"CallSid": "CA-after"}
            )
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
