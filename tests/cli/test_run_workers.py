"""`telephonist run --workers 2`: one port served by two processes over real sockets, with
the stream-token secret, the single-use claims, the metrics and the drain shared."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.cli.run_process import free_port, start_run

from telephonist.cli import main
from telephonist.simulator.caller import TwilioCaller

MAX_CALLS = 24
"""The kernel picks a worker per connection; this many calls all landing on one is
(1/2)^24 likely."""


class Log:
    """The run's stderr, read as it comes: JSON log lines and the banner's text lines."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.entries: list[dict[str, Any]] = []
        self.text: list[str] = []
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            decoded = line.decode(errors="replace").rstrip("\n")
            try:
                entry = json.loads(decoded)
            except ValueError:
                self.text.append(decoded)
            else:
                if isinstance(entry, dict):
                    self.entries.append(entry)
            self._changed.set()
        self._changed.set()

    async def until(self, predicate: Callable[[], bool], within: float = 60.0) -> None:
        """Wait until ``predicate()`` holds, checked after each line."""
        async with asyncio.timeout(within):
            while not predicate():
                assert not self._task.done(), "the run exited:\n" + "\n".join(self.text[-20:])
                self._changed.clear()
                await self._changed.wait()

    def pids(self, message: str, call_id: str | None = None) -> list[int]:
        """The pids that logged ``message`` (for one call)."""
        return [
            int(e["pid"])
            for e in self.entries
            if e["message"].startswith(message) and call_id in (None, e.get("call_id"))
        ]

    def logged_all(self, message: str, call_ids: list[str]) -> Callable[[], bool]:
        """A predicate: every one of ``call_ids`` has logged ``message``."""
        return lambda: all(self.pids(message, i) for i in call_ids)

    def logged_more(self, message: str, call_id: str, seen: int) -> Callable[[], bool]:
        """A predicate: ``call_id`` has logged ``message`` more than ``seen`` times."""
        return lambda: len(self.pids(message, call_id)) > seen

    def stop(self) -> None:
        self._task.cancel()


async def _call(base: str, port: int) -> TwilioCaller:
    """One call answered and greeted, then hung up."""
    caller = TwilioCaller(
        f"{base}/webhooks/twilio_media_streams/webhook",
        stream_url_override=f"ws://127.0.0.1:{port}/webhooks/twilio_media_streams/websocket",
        keep_audio=False,
    )
    async with httpx.AsyncClient() as fresh:  # a new connection: the kernel picks a worker
        await caller.dial(fresh)
    await caller.connect()
    await caller.wait_until(lambda: caller.received_bytes > 0, within=60)
    return caller


def _calls_total(metrics: str) -> float:
    return sum(
        float(v) for v in re.findall(r"^telephonist_calls_total\{[^}]*\} (\S+)$", metrics, re.M)
    )


@pytest.mark.slow
async def test_two_workers_serve_share_and_drain(tmp_path: Path) -> None:
    """Calls spread over both workers and complete; a webhook answered by one worker has its
    stream accepted by the other; a stream token works once across workers; /metrics adds
    both workers up; SIGTERM drains the calls on both, then the run exits 0."""
    process, port = await start_run(
        tmp_path, "--workers", "2", "--drain-timeout", "60", "--log-format", "json"
    )
    log = Log(process)
    base = f"http://127.0.0.1:{port}"
    try:
        await log.until(lambda: any("Workers:" in t for t in log.text), within=180)
        banner = next(t for t in log.text if "Workers:" in t)
        workers = {int(p) for p in re.findall(r"\d+", banner.split("pids")[1])}
        assert len(workers) == 2 and process.pid not in workers

        # Calls until both workers served one and one crossed workers (webhook ≠ stream).
        done: list[TwilioCaller] = []
        crossed: list[str] = []
        while len(done) < MAX_CALLS:
            batch = await asyncio.gather(*(_call(base, port) for _ in range(4)))
            for caller in batch:
                await caller.hang_up()
            done += batch
            ids = [c.call_sid for c in done]
            await log.until(log.logged_all("call.ended", ids))
            crossed = [
                i for i in ids if log.pids("call.answered", i) != log.pids("call.started", i)
            ]
            if set(log.pids("call.started")) == workers and crossed:
                break
        assert set(log.pids("call.started")) == workers, "one worker took every call"
        assert crossed, "no webhook and stream on different workers"
        for call_id in crossed:  # ...and those calls were served in full
            assert log.pids("call.answered", call_id)[0] in workers
            assert len(log.pids("call.ended", call_id)) == 1

        # /metrics, whichever worker answers, counts every call of both.
        per_worker = [log.pids("call.started").count(pid) for pid in workers]
        assert max(per_worker) < len(done)
        async with httpx.AsyncClient() as http:
            for _ in range(4):
                metrics = (await http.get(f"{base}/metrics", headers={"Connection": "close"})).text
                assert _calls_total(metrics) == len(done)

        # A used token, replayed until the worker that did not serve the call refuses it.
        first = done[0]
        served_by = log.pids("call.started", first.call_sid)[0]
        for _ in range(MAX_CALLS):
            replay = TwilioCaller(
                first.webhook_url,
                stream_url_override=first.stream_url_override,
                call_sid=first.call_sid,
            )
            replay.twiml = first.twiml
            refused = len(log.pids("stream.refused", first.call_sid))
            await replay.connect()
            await log.until(log.logged_more("stream.refused", first.call_sid, refused))
            await replay.close()
            if log.pids("stream.refused", first.call_sid)[-1] != served_by:
                break
        refusals = [
            e
            for e in log.entries
            if e["message"].startswith("stream.refused") and e.get("call_id") == first.call_sid
        ]
        elsewhere = [e for e in refusals if e["pid"] != served_by]
        assert elsewhere, "every replay reached the worker that served the call"
        assert all("already streamed on another instance" in e["message"] for e in elsewhere)
        assert len(log.pids("call.started", first.call_sid)) == 1

        # Calls in progress on both workers; SIGTERM drains both.
        open_calls: list[TwilioCaller] = []
        while len(open_calls) < MAX_CALLS:
            open_calls.append(await _call(base, port))
            live = {
                log.pids("call.started", c.call_sid)[0]
                for c in open_calls
                if log.pids("call.started", c.call_sid)
            }
            if live == workers:
                break
        assert live == workers
        process.send_signal(signal.SIGTERM)
        await log.until(lambda: set(log.pids("server.draining")) == workers, within=30)
        async with httpx.AsyncClient() as http:
            refused_call = await http.post(
                f"{base}/webhooks/twilio_media_streams/webhook", data={"CallSid": "CA-after"}
            )
            assert refused_call.status_code == 503
        assert process.returncode is None  # still serving the calls
        for caller in open_calls:
            await caller.hang_up()
        # Well before the tokens of calls whose stream went to the other worker expire (60 s):
        # each worker learns from the store's claims that those calls started elsewhere.
        async with asyncio.timeout(20):
            assert await process.wait() == 0
        for caller in open_calls:
            assert log.pids("call.ended", caller.call_sid)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        log.stop()


@pytest.mark.slow
async def test_a_worker_that_dies_is_started_again(tmp_path: Path) -> None:
    """A worker killed by a signal is logged and replaced; the port keeps taking calls."""
    process, port = await start_run(tmp_path, "--workers", "2", "--log-format", "json")
    log = Log(process)
    try:
        await log.until(lambda: any("Workers:" in t for t in log.text), within=180)
        banner = next(t for t in log.text if "Workers:" in t)
        victim = int(re.findall(r"\d+", banner.split("pids")[1])[0])
        os.kill(victim, signal.SIGKILL)
        await log.until(lambda: bool(log.pids("workers.died")))
        died = next(e for e in log.entries if e["message"].startswith("workers.died"))
        assert f"pid {victim}" in died["message"] and "code -9" in died["message"]
        await log.until(lambda: len(log.pids("workers.ready")) == 3, within=180)
        for _ in range(4):  # connections the kernel sends to either socket are answered
            caller = await _call(f"http://127.0.0.1:{port}", port)
            await caller.hang_up()
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        log.stop()


async def test_workers_refuse_a_memory_store(project: Path) -> None:
    """Several workers cannot share a memory store: the run says which key, before starting."""
    (project / "endpoints.yml").write_text("tracker_store:\n  type: memory\n")
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "telephonist",
        "run",
        str(project),
        "--workers",
        "2",
        "--port",
        str(free_port()),
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await child.communicate()
    assert child.returncode == 2
    assert b"endpoints.yml: tracker_store.type: a memory store is private" in err


def test_bad_workers_value_names_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--workers`` takes a whole number or auto."""
    assert main(["init", str(tmp_path / "bot")]) == 0
    assert main(["run", str(tmp_path / "bot"), "--workers", "two"]) == 2
    assert "--workers: must be auto or a whole number" in capsys.readouterr().err
