"""Two `telephonist run` instances of the starter on one Redis: the one carrying a call is
killed (SIGKILL) mid-conversation, and the call goes on on the other and completes its task.

Skips, saying why, without the redis package or a Redis server on 127.0.0.1:6379.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from tests.cli.run_process import free_port, run_project, stderr_line_with
from tests.stores.test_redis_store import HOST, PORT, prefix, redis_client

from telephonist.cli import main
from telephonist.simulator.caller import TwilioCaller

PUBLIC = "line.example.com"
TOKEN = "kill-test-auth-token"
PATH = "/webhooks/twilio_media_streams"

__all__ = ["prefix", "redis_client"]


def starter_on_redis(path: Path, prefix: str) -> Path:
    """The starter project, its conversations in Redis, behind one public host with a
    shared stream-token secret (so calls resume on any instance)."""
    assert main(["init", str(path)]) == 0
    (path / "endpoints.yml").write_text(
        f"tracker_store:\n  type: redis\n  url: {HOST}\n  port: {PORT}\n  key_prefix: {prefix}\n"
        "action_endpoint:\n  actions_module: actions\n"
    )
    (path / "credentials.yml").write_text(
        f"twilio_media_streams:\n  server_url: {PUBLIC}\n  asr: {{name: local}}\n"
        f"  tts: {{name: local}}\n  monitor_silence: true\n  twilio_auth_token: {TOKEN}\n"
        f"  stream_token_secret: {'s' * 40}\n"
    )
    return path


@pytest.mark.slow
async def test_a_call_survives_a_kill_9_of_its_instance(
    tmp_path: Path, redis_client: Any, prefix: str
) -> None:
    """Order status by keypad: the menu choice is made on A, A is killed while asking for
    the order number; B resumes (no greeting, the question again with its # collection)
    and the caller's number gets its status."""
    project = starter_on_redis(tmp_path / "line", prefix)
    ports = free_port(), free_port()
    first, second = [await run_project(project, port, "--log-level", "INFO") for port in ports]
    try:
        async with asyncio.timeout(180):
            for process in (first, second):
                await stderr_line_with(process, b"Listening on")
        caller = TwilioCaller(
            f"http://127.0.0.1:{ports[0]}{PATH}/webhook",
            auth_token=TOKEN,
            public_url=f"https://{PUBLIC}{PATH}/webhook",
            redirect_url=f"http://127.0.0.1:{ports[1]}",
        )
        await caller.dial()
        await caller.connect()
        caller.realtime_playout()
        async with asyncio.timeout(60):
            await stderr_line_with(first, b"text='Press 1 or say billing")
            await caller.send_dtmf("2")
            await stderr_line_with(first, b"text='Please say or key in")
        await caller.wait_until(lambda: caller.playout.buffered_bytes > 0, within=30)

        first.kill()  # SIGKILL: no drain, no goodbye, nothing recorded
        await first.wait()
        async with asyncio.timeout(60):
            await stderr_line_with(second, b"call.resuming: stream 0 was lost")
            await stderr_line_with(second, b"text='Sorry, the line dropped for a moment.'")
            await stderr_line_with(second, b"text='Please say or key in")
        await caller.wait_until(lambda: caller.legs[-1].first_media_at is not None, within=30)
        await caller.wait_until(lambda: caller.playout.buffered_bytes == 0, within=60)
        await caller.send_dtmf("12345#")
        async with asyncio.timeout(60):
            await stderr_line_with(second, b"text='Order 12345 is out for delivery.'")

        tracker = json.loads(redis_client.get(f"{prefix}:tracker:{caller.call_sid}"))
        kinds = [e["event"] for e in tracker["events"]]
        assert kinds.count("session_start") == 1 and kinds.count("session_resumed") == 1
        after = tracker["events"][kinds.index("session_resumed") :]
        assert [e["text"] for e in after if e["event"] == "bot"][:4] == [
            "Sorry, the line dropped for a moment.",
            "Please say or key in your five-digit order number, then press hash.",
            "I found your order.",
            "Order 12345 is out for delivery.",
        ]
        assert tracker["slots"]["order_status"] == "out for delivery"
        assert len(caller.legs) == 2 and caller.streaming
        assert caller.legs[0].close_code == 1006 and len(caller.resume_gaps_ms()) == 1
        await caller.hang_up()
    finally:
        for process in (first, second):
            if process.returncode is None:
                process.kill()
                await process.wait()
