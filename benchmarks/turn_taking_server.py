"""The turn-taking benchmark's servers: ``telephonist run`` with a rule's channel keys, and the
fake Rasa it talks to.

`Server` writes a project folder holding only ``credentials.yml`` (the engine set's keys with
the rule's YAML merged in) and runs ``telephonist run DIR --rasa-url URL`` as a user would; a
server that exits before it answers ``/health`` — e.g. refusing a key it does not know — gives
its last log line as the reason, and the benchmark skips that rule.

`FakeRasa` is a Rasa REST channel in the benchmark's own process: ``/session_start`` gets a
long greeting (to talk over) for the calls in ``long_greetings``, a short one for the others;
every other message one short sentence, at once.
"""

from __future__ import annotations

import asyncio
import copy
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Self

import httpx
import yaml
from aiohttp import web
from load import cpu_seconds

HERE = Path(__file__).resolve().parent
SHORT_GREETING = "Hello, how can I help?"
REPLY = "Sure, let me help you with that."


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in, mappings key by key."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def stop_process(process: subprocess.Popen[bytes] | None, within: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited ``within`` seconds."""
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(within)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """``telephonist run`` for one engine set and rule."""

    def __init__(
        self, folder: Path, engines: dict[str, Any], rule: dict[str, Any], rasa_url: str
    ) -> None:
        self.folder = folder
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        base = {"server_url": f"127.0.0.1:{self.port}", "monitor_silence": False, **engines}
        self.channel = merged(base, rule)
        self.rasa_url = rasa_url
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self, within: float = 180.0) -> str | None:
        """Start it; None once it answers ``/health``, else why it did not."""
        log = self.launch()
        async with httpx.AsyncClient(timeout=1) as http:
            for _ in range(int(within * 10)):
                assert self.process is not None
                if self.process.poll() is not None:
                    lines = log.read_text(errors="replace").strip().splitlines()
                    return f"the server exited: {lines[-1] if lines else 'no output'}"
                try:
                    if (await http.get(f"{self.base}/health")).status_code == 200:
                        return None
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)  # polling a health check, as a load balancer does
        self.stop()
        return f"no answer on /health within {within:.0f} s"

    def launch(self) -> Path:
        """Write the project, start the process; its log file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        credentials = {"twilio_media_streams": self.channel}
        (self.folder / "credentials.yml").write_text(yaml.safe_dump(credentials))
        log = self.folder / "server.log"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "telephonist",
                    "run",
                    str(self.folder),
                    "--port",
                    str(self.port),
                    "--interface",
                    "127.0.0.1",
                    "--rasa-url",
                    self.rasa_url,
                    "--drain-timeout",
                    "0",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(HERE)},
            )
        return log

    def cpu_seconds(self) -> float:
        """The server process's user + system CPU time."""
        assert self.process is not None
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        """Stop it (at once: no drain)."""
        stop_process(self.process, 15)


class FakeRasa:
    """``async with FakeRasa(long_greeting) as rasa``: a Rasa REST channel at ``rasa.url``."""

    def __init__(self, long_greeting: str) -> None:
        self.long_greeting = long_greeting
        self.long_greetings: set[str] = set()
        """Call SIDs greeted with the long greeting."""
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        message = str(body.get("message", ""))
        if message.startswith("/session_start"):
            long = body.get("sender") in self.long_greetings
            texts = [self.long_greeting if long else SHORT_GREETING]
        elif message.startswith("/"):
            texts = []
        else:
            texts = [REPLY]
        return web.json_response([{"recipient_id": body.get("sender"), "text": t} for t in texts])

    async def _root(self, request: web.Request) -> web.Response:
        return web.Response(text="Hello from Rasa: 3.6.21")

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response({"version": "3.6.21", "model_file": "fake.tar.gz"})

    async def _tracker(self, request: web.Request) -> web.Response:
        sender = request.match_info["sender"]
        return web.json_response({"sender_id": sender, "slots": {}, "latest_message": {}})

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self._webhook)
        app.router.add_get("/", self._root)
        app.router.add_get("/status", self._status)
        app.router.add_get("/version", self._status)
        app.router.add_get("/conversations/{sender}/tracker", self._tracker)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
